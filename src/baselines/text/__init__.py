"""Text utilities shared by the captioning, VQA and VQG baselines."""
