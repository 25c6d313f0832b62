"""The simulation layer: building and running simulations (``simrun``), the macro adapters
on the RTL's port (``macro_port`` pin level, ``macro_tlm`` transaction level), scoreboards,
the testbench kit and the co-simulation's host job (``cosim``). Uses every layer below."""
