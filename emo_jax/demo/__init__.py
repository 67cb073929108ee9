"""`python -m emo_jax.demo`: a web page to analyse an uploaded video or image, or a webcam."""
