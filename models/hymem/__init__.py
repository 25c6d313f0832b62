"""hymem: controller, behavioural models and co-simulation of a hybrid FeCAP + memristor learning memory.

Layers, lowest first; a module imports only from its own layer and the ones below
(tb/test_layers.py checks it):

==========  ==============================================================================
base        ``paths`` (where rtl/ is), ``jit`` (numba or NumPy), ``published`` (the paper's
            figures), ``resources`` (memory checks)
digital     ``hymem.digital``: the bit-exact models of the controller's primitives (PRNG,
            sign-magnitude arithmetic, MSB extraction) in the package itself; ``engine``
            (update and transfer engines, geometry, slot encoding), ``fastengine``
analog      ``hymem.analog``: ``devices`` (memristor, FeCAP, transfer line), ``array`` (the
            hybrid array behind the macro port), ``backdoor``, ``adc`` (ADC, verify
            windows), ``port`` (the port's pin protocol), ``programmer`` (the reference's
            n-array programmers), ``device_report``
learn       ``hymem.learn``: ``reference`` (float and hybrid training), ``quant``,
            ``stream`` (recorded sample streams), ``datasets``
host        ``hymem.host``: ``regmap`` (from rtl/hymem_regs.rdl), ``apb``, ``firmware``
sim         ``hymem.sim``: ``simrun`` (build and run simulations), ``macro_port`` and
            ``macro_tlm`` (the array model on the RTL's port), ``scoreboard``, ``tbkit``,
            ``cosim`` (the co-simulation's host job)
app         ``cli`` (the ``hymem`` command), ``bench`` (``hymem bench``), ``outputs``,
            ``sweep`` (``hymem sweep``: ``sweep_spec``, ``sweep_store``, ``sweep_report``)
==========  ==============================================================================
"""

__version__ = "0.1.0"
