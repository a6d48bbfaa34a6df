"""The ordered engine (LSM tree); see ``storage.lsm.engine``."""

from storage.lsm.engine import LSMEngine

__all__ = ["LSMEngine"]
