"""Real-data Stage 2 and sound tasks: split leakage, tiny overfits on real slices, the shipped
models against their recorded reference predictions, metric and robustness helpers.

Tests that read ../shared/data skip where it is absent; the shipped-model tests use the small
fixtures in test/fixtures/stage2_media/ (copies of real frames / images / sound snippets named
after their data set file, e.g. thermal__fan_failure__f082.png = fan_failure/f082.png).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from pm_monitor.core.models.acoustic_anomaly import SpectrogramAutoencoder
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.models.camera_defect import CameraDefectNet
from pm_monitor.core.models.thermal_classifier import downscale
from pm_monitor.core.models.thermal_resnet import ThermalResNet
from pm_monitor.core.models.weights import load_weights, sha256_of
from pm_monitor.datasets import DataNotFoundError, neu_surface, thermal_motor
from pm_monitor.report.metrics import auroc
from pm_monitor.training import common
from pm_monitor.training.tasks import machine_sound as sound_task
from pm_monitor.training.tasks import neu_surface as neu_task
from pm_monitor.training.tasks import thermal_motor as thermal_task
from pm_monitor.training.tasks.robustness_media import add_noise, shift_image

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "test" / "fixtures" / "stage2_media"


def _fixture(prefix: str, data_file: str) -> Path:
    return FIXTURES / f"{prefix}__{data_file.replace('/', '__')}"


@pytest.fixture(scope="module")
def thermal_frames():
    try:
        return thermal_motor.list_frames()
    except DataNotFoundError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def neu_images():
    try:
        return neu_surface.list_images()
    except DataNotFoundError as err:
        pytest.skip(str(err))


# ------------------------------------------------------------------------- split leakage
def test_thermal_block_folds_never_share_a_frame_block(thermal_frames):
    blocks = np.array(thermal_motor.frame_blocks(thermal_frames, 5))
    sessions = np.array([f.class_name for f in thermal_frames])
    index = np.array([f.frame_index for f in thermal_frames])
    tested = np.zeros(len(thermal_frames), dtype=int)
    for fold in range(5):
        train, test = thermal_task.fold_split(blocks, fold)
        assert not set(train) & set(test)
        tested[test] += 1
        train_keys = set(zip(sessions[train], blocks[train], strict=True))
        assert not train_keys & set(zip(sessions[test], blocks[test], strict=True))
        for session in set(sessions):  # the test side of a session is one contiguous run
            run = np.sort(index[test][sessions[test] == session])
            assert run.size > 0 and np.all(np.diff(run) == 1)
    assert np.all(tested == 1)  # every frame is tested exactly once
    by_file = {f.file: b for f, b in zip(thermal_frames, blocks, strict=True)}
    assert by_file["stator_A_30/152.png"] == by_file["stator_A_30/153.png"]  # identical pair


def test_neu_split_is_stratified_disjoint_and_keeps_the_duplicate_together(neu_images):
    labels = np.array([neu_surface.CLASSES.index(im.class_name) for im in neu_images])
    files = [im.file for im in neu_images]
    splits = [neu_task.stratified_split(labels, files, 0.2, seed) for seed in range(3)]
    for train, test in splits:
        assert not set(train) & set(test) and len(train) + len(test) == len(files)
        assert all(abs(np.sum(labels[test] == c) - 60) <= 1 for c in range(6))
        sides = {files[i]: i in set(test) for i in range(len(files))}
        for first, second in neu_surface.KNOWN_DUPLICATES:
            assert sides[first] == sides[second]
    assert set(splits[0][1]) != set(splits[1][1])  # seeds draw different hold-outs


# ------------------------------------------------------------ tiny training on real slices
def test_thermal_classifier_overfits_a_small_real_slice(thermal_frames):
    chosen = [f for f in thermal_frames if f.class_name in ("fan_failure", "stator_A_10")]
    chosen = [f for i, f in enumerate(chosen) if i % 5 == 0]
    images = np.stack([downscale(thermal_motor.load_palette_index(f), 5) for f in chosen])
    labels = torch.tensor([int(f.class_name == "fan_failure") for f in chosen])
    inputs = thermal_task.to_tensor(images)
    torch.manual_seed(0)
    model = ThermalResNet(n_classes=2, width=8, dropout=0.0)
    history = common.train_classifier(model, inputs, labels, epochs=25, batch_size=8,
                                            lr=3e-3, seed=0)
    predicted = common.predict_probabilities(model, inputs).argmax(axis=1)
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert np.all(predicted == labels.numpy())


def test_camera_model_overfits_a_small_real_slice(neu_images):
    chosen = [im for im in neu_images if im.class_name in ("crazing", "scratches")
              and im.number <= 8]
    images = np.stack([neu_task.resize_grey(neu_surface.load_image(im), 64) for im in chosen])
    labels = torch.tensor([int(im.class_name == "scratches") for im in chosen])
    inputs = neu_task.to_tensor(images)
    model = CameraDefectNet(n_classes=2, width=8, dropout=0.0)
    common.train_classifier(model, inputs, labels, epochs=25, batch_size=8, lr=3e-3, seed=0)
    predicted = common.predict_probabilities(model, inputs).argmax(axis=1)
    assert np.all(predicted == labels.numpy())


def test_autoencoder_learns_real_normal_sound():
    try:
        arrays = sound_task.load_machine("fan/id_02", {"cache_dir": "results/tmp/machine_sound"})
    except DataNotFoundError as err:
        pytest.skip(str(err))
    normal = arrays["samples"][arrays["train"]][0][:36000]  # 2.25 s: 4 overlapping patches
    config = {"epochs": 150, "width": 8, "code_size": 32, "train_patch_hop": 1, "lr": 3e-3,
              "batch_size": 4}
    _, standardiser, losses = sound_task.fit_autoencoder([normal], config, seed=0)
    assert losses[-1] < 0.3 * losses[0]  # memorised (measured: 1.34 -> 0.13)
    assert standardiser.mean.shape == (64,)


# ------------------------------------------------------ shipped models vs their metadata
def _probabilities(model: torch.nn.Module, inputs: torch.Tensor) -> np.ndarray:
    return common.predict_probabilities(model, inputs)[0]


def test_shipped_thermal_model_reproduces_its_reference_predictions():
    model, meta = load_weights(ThermalResNet,
                               REPO / "models/thermal_motor/thermal_classifier.pt",
                               expected_model=thermal_task.MODEL_NAME)
    assert meta["metrics"]["cnn_accuracy"]["n"] >= 5
    for ref in meta["reference_predictions"]:
        with Image.open(_fixture("thermal", ref["file"])) as image:
            assert image.mode == "P"
            frame = downscale(np.asarray(image), int(meta["features"]["downscale"]))
        probabilities = _probabilities(model, thermal_task.to_tensor(frame[None]))
        assert meta["class_names"][int(probabilities.argmax())] == ref["predicted"]
        np.testing.assert_allclose(probabilities, ref["probabilities"], atol=1e-4)


def test_shipped_camera_model_reproduces_its_reference_predictions():
    model, meta = load_weights(CameraDefectNet, REPO / "models/neu_surface/camera_defect.pt",
                               expected_model=neu_task.MODEL_NAME)
    for ref in meta["reference_predictions"]:
        with Image.open(_fixture("neu", ref["file"])) as image:
            pixels = np.asarray(image)
        resized = neu_task.resize_grey(pixels, int(meta["features"]["image_size"]))
        probabilities = _probabilities(model, neu_task.to_tensor(resized[None]))
        assert meta["class_names"][int(probabilities.argmax())] == ref["predicted"]
        np.testing.assert_allclose(probabilities, ref["probabilities"], atol=1e-4)


@pytest.mark.parametrize("machine", sound_task.EVALUATED_MACHINES)
def test_shipped_sound_model_reproduces_its_reference_scores(machine):
    """One reference snippet per model is a fixture (id_00: a normal, id_02: an anomaly
    clip; the fixtures must stay under 200 kB); its score must match the metadata."""
    path = REPO / "models/machine_sound" / f"{machine.replace('/', '_')}.pt"
    model, standardiser, meta = sound_task.load_model(path)
    assert meta["machine"] == machine and meta["features"]["n_fft"] == 2048
    spec_config = sound_task.SpectrogramConfig(
        **{k: meta["features"][k] for k in sound_task.SpectrogramConfig.__dataclass_fields__})
    references = [r for r in meta["reference_scores"]
                  if _fixture("sound", r["file"]).is_file()]
    assert references, f"no fixture snippet for {machine}"
    for ref in references:
        samples, rate = soundfile.read(_fixture("sound", ref["file"]), dtype="float32")
        assert rate == 16000 and samples.size == ref["first_samples"]
        score = sound_task.clip_score(model, standardiser, samples, spec_config,
                                      int(meta["features"]["score_patch_hop"]))
        assert score == pytest.approx(ref["score"], rel=1e-4, abs=1e-5)


def test_a_corrupt_shipped_weight_file_is_a_clear_error(tmp_path):
    source = REPO / "models/neu_surface/camera_defect.pt"
    broken = tmp_path / "camera_defect.pt"
    broken.write_bytes(source.read_bytes()[:1000])
    (tmp_path / "camera_defect.json").write_text(
        (REPO / "models/neu_surface/camera_defect.json").read_text())
    with pytest.raises(ModelLoadError, match=r"camera_defect\.pt"):
        load_weights(CameraDefectNet, broken)
    with pytest.raises(ModelLoadError, match="not 'spectrogram_autoencoder'"):
        load_weights(SpectrogramAutoencoder, broken, expected_model=sound_task.MODEL_NAME)
    meta = json.loads((tmp_path / "camera_defect.json").read_text())
    meta["hyperparameters"]["width"] = 3  # weights of width 8 cannot fit a width-3 model
    meta["sha256"] = sha256_of(source)
    (tmp_path / "camera_defect.json").write_text(json.dumps(meta))
    broken.write_bytes(source.read_bytes())
    with pytest.raises(ModelLoadError, match="do not fit"):
        load_weights(CameraDefectNet, broken)


def test_missing_held_out_models_name_the_command_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"thermal_motor\.yaml"):
        thermal_task.load_fold_model({"cache_dir": str(tmp_path)}, 0, 0)
    with pytest.raises(FileNotFoundError, match=r"neu_surface\.yaml"):
        neu_task.load_seed_model({"cache_dir": str(tmp_path)}, 0)


# --------------------------------------------------------------- metric / robustness helpers
def test_partial_auroc_and_bootstrap():
    positive = np.r_[np.zeros(50), np.ones(50)].astype(bool)
    perfect = positive.astype(float)
    assert sound_task.partial_auroc(perfect, positive) == pytest.approx(1.0)
    assert sound_task.partial_auroc(-perfect, positive) < 0.5
    rng = np.random.default_rng(0)
    noisy = rng.normal(size=100) + positive
    low, high = sound_task.bootstrap_auroc(noisy, positive, n=200)
    assert low < auroc(noisy, positive) < high


def test_noise_has_the_requested_snr_and_image_shifts_stay_in_range():
    rng = np.random.default_rng(0)
    signal = np.sin(np.linspace(0, 2000, 160000)).astype(np.float32)
    for snr in (30.0, 10.0):
        noise = add_noise(signal, snr, rng) - signal
        measured = 10 * np.log10(np.mean(signal ** 2) / np.mean(noise ** 2))
        assert measured == pytest.approx(snr, abs=0.1)
    image = np.linspace(0, 241, 48 * 64, dtype=np.float32).reshape(48, 64)
    brighter = shift_image(image, "brightness", 0.5, 241.0)
    assert brighter.max() == 241.0 and brighter[0, 1] == pytest.approx(image[0, 1] * 1.5)
    flatter = shift_image(image, "contrast", -0.3, 241.0)
    assert flatter.std() == pytest.approx(0.7 * image.std(), rel=1e-3)
    with pytest.raises(ValueError, match="unknown"):
        shift_image(image, "gamma", 0.1, 241.0)


def test_gain_augmentation_scales_each_frame_within_its_range():
    generator = torch.Generator().manual_seed(0)
    batch = torch.ones(64, 1, 4, 4)
    assert thermal_task.random_gain(batch, generator, 0.0) is batch
    scaled = thermal_task.random_gain(batch, generator, 0.3)
    factors = scaled[:, 0, 0, 0]
    assert torch.all((factors >= 0.7) & (factors <= 1.3)) and factors.std() > 0.05
    assert torch.all(scaled == factors.view(-1, 1, 1, 1))  # one factor per frame
