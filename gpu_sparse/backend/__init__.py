"""The backend layer's interface: the :class:`Backend` protocol and the device
dispatcher. Everything above talks to devices only through these names."""

from .device import (available_backends, canonical_device, describe_device, device_of_array,
                     get_backend, get_default_device, set_default_device)
from .interface import PRIMITIVES, XP_FUNCTIONS, Array, Backend, CSRForm

__all__ = ["Array", "Backend", "CSRForm", "PRIMITIVES", "XP_FUNCTIONS",
           "available_backends", "canonical_device", "describe_device", "device_of_array",
           "get_backend",
           "get_default_device", "set_default_device"]
