"""Packed datasets (TFDS, array_record, no TensorFlow): the one home of every dataset builder.

One module per dataset: `cremad.py` (`cremad/<config>`), `ravdess.py` (`ravdess/<config>`),
`fer2013.py` (`fer2013`), `affectnet.py` (`affectnet/<config>`), `folder.py` (`folder/<config>`: any folder of labelled clips
or images); `loading.BUILDERS` names them. Importing this package registers
every builder with TFDS. Typical use:

    builder = tfds_cremad.load_builder("cremad/g16_112", data_dir)
    records = builder.as_data_source(split="all")  # or tfds.data_source(...)
    index = tfds_cremad.load_index(builder)  # actor, label, clip_name per record
"""
from tfds_cremad.affectnet import AffectNet
from tfds_cremad.affectnet import AffectNetConfig
from tfds_cremad.cremad import Cremad
from tfds_cremad.cremad import CremadConfig
from tfds_cremad.fer2013 import Fer2013
from tfds_cremad.field_source import FieldSource
from tfds_cremad.folder import Folder
from tfds_cremad.folder import FolderConfig
from tfds_cremad.loading import dataset_names
from tfds_cremad.loading import DatasetNotBuiltError
from tfds_cremad.loading import DatasetStaleError
from tfds_cremad.loading import example_spec
from tfds_cremad.loading import is_built
from tfds_cremad.loading import is_stale
from tfds_cremad.loading import load_builder
from tfds_cremad.loading import make_builder
from tfds_cremad.ravdess import Ravdess
from tfds_cremad.ravdess import RavdessConfig
from tfds_cremad.record_index import load_index
