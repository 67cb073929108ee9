"""A web demo of `emo_jax.video`: upload a video or an image, or stream a webcam (`python -m emo_jax.demo`)."""
