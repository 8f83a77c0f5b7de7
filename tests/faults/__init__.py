"""The fault suite (make test-faults): a package, so its conftest does not shadow the root one."""
