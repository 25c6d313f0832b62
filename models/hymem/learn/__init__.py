"""The learning layer: the fast learning reference (``reference``: float and hybrid training),
quantization, the recorded sample streams, and the datasets. Uses the analog and digital layers;
nothing above."""
