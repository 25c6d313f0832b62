"""hymem: controller, behavioural models and co-simulation of a hybrid FeCAP + memristor learning memory.

Modules
-------
digital  bit-exact models of the controller's digital primitives (PRNG, sign-magnitude
         arithmetic, MSB extraction), shared by the RTL testbenches and the learning model
devices  behavioural device models: memristor (1T1R), FeCAP (1T1C), transfer line
macro    the hybrid array behind the macro port, its protocol checks, ArrayProgrammer
jit      the switch for compiled kernels: numba, or the same code on NumPy without it
macro_port  cocotb adapter putting the array model on the controller's macro port pins
device_report  the published figures reproduced by the device models (``hymem devices``)
simrun   build and run cocotb simulations of the RTL on Icarus or Verilator
tbkit    helpers for the cocotb testbenches (only inside a simulation)
cli      the ``hymem`` command line
"""

__version__ = "0.1.0"
