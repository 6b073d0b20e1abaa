"""A real QEMU as an implementation under test (see README.md)."""
