"""PyTorch models for benchmarks/reference_pytorch.py: the reference notebook's, and ours.

`ReferenceTrainer`: the reference notebook's model, re-implemented from its description
(torchvision is not needed: ResNet-18 is written out): an ImageNet-style ResNet-18
frame encoder, frozen (`requires_grad=False`, but still run on every frame in every
step) or trainable, a feature autoencoder 512-128-64-128-512 trained on reconstructing
the encoder's features, and an LSTM over the 64-d codes. Grey frames are repeated to
the 3 channels ImageNet weights expect; a frozen encoder stays in eval mode (as this
project keeps a frozen encoder's BatchNorm statistics).

`ConvLstmTrainer`: this project's configs/cnn_lstm.py model (ConvEncoder 32-64-128-256,
BiLSTM 128, head 128) in PyTorch, a framework-only comparison of a trainable conv
encoder.

Both take uint8 `[B, T, H, W, 1]` frames and int labels, as this project's train step,
and are built with PyTorch's default NCHW layout (as the notebook), or channels-last.
"""
import numpy as np

NUM_CLASSES = 6
FEATURES = 512
AUTOENCODER_SIZES = (128, 64)
LSTM_SIZE = 128
CONV_WIDTHS = (32, 64, 128, 256)


def build_resnet18(torch):
  """torchvision's resnet18 without its classifier: `[N, 3, H, W] -> [N, 512]`."""
  nn = torch.nn

  class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (torchvision's BasicBlock)."""

    def __init__(self, in_channels, channels, stride):
      super().__init__()
      self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
      self.bn1 = nn.BatchNorm2d(channels)
      self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
      self.bn2 = nn.BatchNorm2d(channels)
      self.downsample = None
      if stride != 1 or in_channels != channels:
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                        nn.BatchNorm2d(channels))

    def forward(self, x):
      y = torch.relu(self.bn1(self.conv1(x)))
      y = self.bn2(self.conv2(y))
      return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

  class ResNet18(nn.Module):

    def __init__(self):
      super().__init__()
      self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
      blocks, in_channels = [], 64
      for stage, channels in enumerate((64, 128, 256, 512)):
        for index in range(2):
          blocks.append(BasicBlock(in_channels, channels, 2 if stage and not index else 1))
          in_channels = channels
      self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
      return torch.flatten(nn.functional.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1)

  return ResNet18()


def build_reference_head(torch):
  """Features `[B, T, 512]` -> `(logits [B, 6], reconstruction [B, T, 512])`."""
  nn = torch.nn

  class Head(nn.Module):
    """Feature autoencoder + LSTM over the codes + linear classifier."""

    def __init__(self):
      super().__init__()
      hidden, code = AUTOENCODER_SIZES
      self.encoder = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(),
                                   nn.Linear(hidden, code))
      self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(),
                                   nn.Linear(hidden, FEATURES))
      self.lstm = nn.LSTM(code, LSTM_SIZE, batch_first=True)
      self.classifier = nn.Linear(LSTM_SIZE, NUM_CLASSES)

    def forward(self, features):
      codes = self.encoder(features)
      _, (hidden, _) = self.lstm(codes)
      return self.classifier(hidden[-1]), self.decoder(codes)

  return Head()


def _normalised(torch, frames: np.ndarray, channels: int, channels_last: bool):
  """uint8 `[B, T, H, W, 1]` -> float `[B * T, channels, H, W]` in [-1, 1]."""
  batch, num_frames, height, width, _ = frames.shape
  x = torch.from_numpy(frames).float().div_(255.0).sub_(0.5).div_(0.5)
  x = x.reshape(batch * num_frames, 1, height, width).expand(-1, channels, -1, -1)
  return x.contiguous(memory_format=torch.channels_last if channels_last
                      else torch.contiguous_format)


class ReferenceTrainer:
  """The reference train step, in two parts: `encode` and `train_on_features`.

  A cached-features epoch would call `train_on_features` on stored features; the
  notebook's epoch calls `train_step`, which encodes every frame every time.
  """

  def __init__(self, torch, frozen: bool = True, channels_last: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    self._torch = torch
    self.frozen = frozen
    self.channels_last = channels_last
    self.encoder, self.head = build_resnet18(torch), build_reference_head(torch)
    for parameter in self.encoder.parameters():
      parameter.requires_grad = not frozen
    self.encoder.train(not frozen)
    if channels_last:
      self.encoder.to(memory_format=torch.channels_last)
    trainable = list(self.head.parameters())
    if not frozen:
      trainable += list(self.encoder.parameters())
    self.optimizer = torch.optim.Adam(trainable, lr=1e-3)

  def encode(self, frames: np.ndarray):
    """uint8 `[B, T, H, W, 1]` -> float `[B, T, 512]` features (grey repeated to RGB)."""
    batch, num_frames = frames.shape[:2]
    x = _normalised(self._torch, frames, 3, self.channels_last)
    return self.encoder(x).reshape(batch, num_frames, FEATURES)

  def train_on_features(self, features, labels) -> float:
    """One optimiser step of everything trained: classification + reconstruction loss."""
    functional = self._torch.nn.functional
    logits, reconstruction = self.head(features)
    loss = (functional.cross_entropy(logits, labels)
            + functional.mse_loss(reconstruction, features.detach()))
    self.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    self.optimizer.step()
    return loss.item()

  def train_step(self, frames: np.ndarray, labels: np.ndarray) -> float:
    """The notebook's step: encode every frame, then train on the features."""
    return self.train_on_features(self.encode(frames), self._torch.from_numpy(labels).long())


class ConvLstmTrainer:
  """configs/cnn_lstm.py's model in PyTorch: ConvEncoder -> BiLSTM -> head, all trained."""

  def __init__(self, torch, channels_last: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    nn = torch.nn
    self._torch = torch
    self.channels_last = channels_last
    layers, in_channels = [], 1
    for width in CONV_WIDTHS:  # 3x3 conv, BatchNorm, ReLU, 2x2 max pooling per stage.
      layers += [nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                 nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
      in_channels = width
    self.encoder = nn.Sequential(*layers)
    if channels_last:
      self.encoder.to(memory_format=torch.channels_last)
    self.lstm = nn.LSTM(CONV_WIDTHS[-1], LSTM_SIZE, batch_first=True, bidirectional=True)
    self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * LSTM_SIZE, 128), nn.ReLU(),
                              nn.Dropout(0.3), nn.Linear(128, NUM_CLASSES))
    self.modules = nn.ModuleList([self.encoder, self.lstm, self.head]).train()
    self.optimizer = torch.optim.AdamW(self.modules.parameters(), lr=1e-3, weight_decay=1e-4)

  def train_step(self, frames: np.ndarray, labels: np.ndarray) -> float:
    torch = self._torch
    batch, num_frames = frames.shape[:2]
    x = _normalised(torch, frames, 1, self.channels_last)
    features = self.encoder(x).mean(dim=(2, 3)).reshape(batch, num_frames, -1)
    _, (hidden, _) = self.lstm(features)
    logits = self.head(torch.cat([hidden[-2], hidden[-1]], dim=-1))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels).long())
    self.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(self.modules.parameters(), 1.0)
    self.optimizer.step()
    return loss.item()
