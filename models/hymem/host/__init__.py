"""The host layer: the register map read from ``rtl/hymem_regs.rdl`` (``regmap``), the register
model with the rules of every access (``regmodel``), the APB transactors (``apb``) and the
firmware driver (``firmware``). Uses the base modules only."""
