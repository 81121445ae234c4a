"""Loihi 2 deployment via Intel Lava (spikesim.hardware).

* :mod:`.loihi` -- integer network description and the bit-exact fixed-point simulator;
* :mod:`.quantize` -- float CubaLIF / current-based LIF networks to Loihi integers, with the
  error report and the inverse mapping;
* :mod:`.resources` -- resource report against configurable Loihi 2 limits;
* :mod:`.lava_env`, :mod:`.lava_run`, :mod:`.verify` -- the managed Lava environment, runs in
  Lava as a subprocess, spike-for-spike verification;
* :mod:`.nir_io`, :mod:`.netx` -- NIR and lava-dl netx export/import; netx files are checked
  by loading them with lava-dl's own ``lava.lib.dl.netx.hdf5.Network`` in the managed Lava
  environment (``netx_runner.py``, lava-dl installed without torch) and comparing spikes;
* :mod:`.cli` -- the ``spikesim lava`` and ``spikesim export`` commands.
"""
