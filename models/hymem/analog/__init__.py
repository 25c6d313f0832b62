"""The analogue layer: the memristor and FeCAP device physics (``devices``), the hybrid array
behind one macro (``macro``: array state, backdoor, pin protocol), the programmers that turn
transfer codes into conductances (``programmer``) and the device report. Uses the digital layer
(geometry, slot encoding) and the base modules; nothing above."""
