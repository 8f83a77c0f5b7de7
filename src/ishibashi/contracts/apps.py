"""Contracts: the agreed terms, their versions, milestones and the contract's event chain."""

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "ishibashi.contracts"
    label = "contracts"
