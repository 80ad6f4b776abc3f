"""Calibration to a firm's own data (``cxsim calibrate``)."""
