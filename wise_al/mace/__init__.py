"""MACE: committee evaluation, dataset files, training and fine-tuning (torch lives here)."""
