"""Uploaded data: labelled frames and starting structures, checked frame by frame."""
