"""Tests of legacy torchtext behaviours (torchtext.data 0.8 / torchtext.legacy.data 0.9-0.11) in textcls."""
