"""The analogue layer: the memristor and FeCAP device physics (``devices``), the hybrid array
behind one macro (``array``) with its backdoor (``backdoor``), its read-out ADC and verify
windows (``adc``) and its port's pin protocol (``port``), the programmers that turn transfer
codes into conductances for n arrays (``programmer``) and the device report. Uses the digital
layer (geometry, slot encoding) and the base modules; nothing above."""
