"""Production MD: thermostatted runs that checkpoint, resume and feed the observables."""
