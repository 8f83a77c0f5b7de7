"""Ishibashi (石橋): a crowdsourcing marketplace where a worker who does the work gets paid."""

__version__ = "0.1.0"
