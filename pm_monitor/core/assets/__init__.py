"""Asset descriptions: what the monitor must know about a machine it was never trained on."""
