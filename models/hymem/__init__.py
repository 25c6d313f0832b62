"""hymem: controller, behavioural models and co-simulation of a hybrid FeCAP + memristor learning memory.

Modules
-------
digital  bit-exact models of the controller's digital primitives (PRNG, sign-magnitude
         arithmetic, MSB extraction), shared by the RTL testbenches and the learning model
simrun   build and run cocotb simulations of the RTL on Icarus or Verilator
tbkit    helpers for the cocotb testbenches (only inside a simulation)
cli      the ``hymem`` command line
"""

__version__ = "0.1.0"
