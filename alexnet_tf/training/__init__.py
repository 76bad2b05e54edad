"""Training: `config` (the run's settings, declared once: the train flags, their checks and
`TrainConfig.from_flagfile` come from TrainConfig's fields; no TensorFlow), `run` (the run
behind `python -m alexnet_tf.train`: strategy, data, model, resume, `model.fit`) and
`callbacks` (the paper's learning-rate rule, history, model files, backups).

Importing this package imports no TensorFlow; `run` and `callbacks` do.
"""
