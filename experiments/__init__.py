"""Experiment drivers: batch execution, the resumable run store, sweeps and sensitivity studies."""
