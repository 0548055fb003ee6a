"""Every remedy the rules recommend: what to do, what it takes, and how, per framework.

Snippets are meant to be pasted: they use real APIs (PyTorch 2.x, Lightning 2.x, Keras 3,
Hugging Face Transformers) and the names `model`, `optimizer`, `criterion`, `train_loader`,
`val_loader`, `x_train`/`y_train`, `train_ds`/`val_ds` for the user's own objects.
"""

from __future__ import annotations

from textwrap import dedent

from overfit_doctor.catalogue.model import Effort, Remedy

# --- References (author, year, title, venue, canonical URL where one exists) ----------------

PRECHELT = (
    "Prechelt, L. (1998). Early Stopping - But When? In Neural Networks: Tricks of the Trade, "
    "LNCS 1524, Springer. https://doi.org/10.1007/3-540-49430-8_3"
)
KROGH = (
    "Krogh, A. & Hertz, J. A. (1992). A Simple Weight Decay Can Improve Generalization. NIPS 4. "
    "https://papers.nips.cc/paper/1991/hash/8eefcfdf5990e441f0fb6f3fad709e21-Abstract.html"
)
LOSHCHILOV = (
    "Loshchilov, I. & Hutter, F. (2019). Decoupled Weight Decay Regularization. ICLR 2019. "
    "https://arxiv.org/abs/1711.05101"
)
SRIVASTAVA = (
    "Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. & Salakhutdinov, R. (2014). "
    "Dropout: A Simple Way to Prevent Neural Networks from Overfitting. JMLR 15. "
    "https://jmlr.org/papers/v15/srivastava14a.html"
)
IOFFE = (
    "Ioffe, S. & Szegedy, C. (2015). Batch Normalization: Accelerating Deep Network Training "
    "by Reducing Internal Covariate Shift. ICML 2015. https://arxiv.org/abs/1502.03167"
)
SHORTEN = (
    "Shorten, C. & Khoshgoftaar, T. M. (2019). A survey on Image Data Augmentation for Deep "
    "Learning. Journal of Big Data 6, 60. https://doi.org/10.1186/s40537-019-0197-0"
)
YOSINSKI = (
    "Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in "
    "deep neural networks? NIPS 2014. https://arxiv.org/abs/1411.1792"
)
KESKAR = (
    "Keskar, N. S., Mudigere, D., Nocedal, J., Smelyanskiy, M. & Tang, P. T. P. (2017). On "
    "Large-Batch Training for Deep Learning: Generalization Gap and Sharp Minima. ICLR 2017. "
    "https://arxiv.org/abs/1609.04836"
)
WILSON = (
    "Wilson, A. C., Roelofs, R., Stern, M., Srebro, N. & Recht, B. (2017). The Marginal Value "
    "of Adaptive Gradient Methods in Machine Learning. NIPS 2017. "
    "https://arxiv.org/abs/1705.08292"
)
SMITH_CLR = (
    "Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks. WACV 2017. "
    "https://arxiv.org/abs/1506.01186"
)
SMITH_TOPIN = (
    "Smith, L. N. & Topin, N. (2019). Super-Convergence: Very Fast Training of Neural Networks "
    "Using Large Learning Rates. Proc. SPIE 11006. https://arxiv.org/abs/1708.07120"
)
GLOROT = (
    "Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep feedforward "
    "neural networks. AISTATS 2010. https://proceedings.mlr.press/v9/glorot10a.html"
)
HE_INIT = (
    "He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving Deep into Rectifiers: Surpassing "
    "Human-Level Performance on ImageNet Classification. ICCV 2015. "
    "https://arxiv.org/abs/1502.01852"
)
HE_RESNET = (
    "He, K., Zhang, X., Ren, S. & Sun, J. (2016). Deep Residual Learning for Image "
    "Recognition. CVPR 2016. https://arxiv.org/abs/1512.03385"
)
NAIR = (
    "Nair, V. & Hinton, G. E. (2010). Rectified Linear Units Improve Restricted Boltzmann "
    "Machines. ICML 2010. https://mlanthology.org/icml/2010/nair2010icml-rectified/"
)
MAAS = (
    "Maas, A. L., Hannun, A. Y. & Ng, A. Y. (2013). Rectifier Nonlinearities Improve Neural "
    "Network Acoustic Models. ICML 2013 Workshop on Deep Learning for Audio, Speech and "
    "Language Processing."
)
PASCANU = (
    "Pascanu, R., Mikolov, T. & Bengio, Y. (2013). On the difficulty of training recurrent "
    "neural networks. ICML 2013. https://arxiv.org/abs/1211.5063"
)
GOYAL = (
    "Goyal, P. et al. (2017). Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour. "
    "https://arxiv.org/abs/1706.02677"
)
KOHAVI = (
    "Kohavi, R. (1995). A Study of Cross-Validation and Bootstrap for Accuracy Estimation and "
    "Model Selection. IJCAI 1995. https://mlanthology.org/ijcai/1995/kohavi1995ijcai-study/"
)
ZHANG = (
    "Zhang, C., Bengio, S., Hardt, M., Recht, B. & Vinyals, O. (2017). Understanding deep "
    "learning requires rethinking generalization. ICLR 2017. https://arxiv.org/abs/1611.03530"
)
CS231N = (
    "Stanford CS231n. Neural Networks Part 3: Learning and Evaluation (gradient checks, sanity "
    "checks, babysitting the learning process). https://cs231n.github.io/neural-networks-3/"
)
CS231N_PREP = (
    "Stanford CS231n. Neural Networks Part 2: Setting up the Data and the Loss (data "
    "preprocessing, weight initialization). https://cs231n.github.io/neural-networks-2/"
)
CS230 = (
    "Amidi, A. & Amidi, S. Stanford CS230 Deep Learning Tips and Tricks cheatsheet. "
    "https://stanford.edu/~shervine/teaching/cs-230/cheatsheet-deep-learning-tips-and-tricks"
)
KARPATHY = (
    "Karpathy, A. (2019). A Recipe for Training Neural Networks. "
    "https://karpathy.github.io/2019/04/25/recipe/"
)
PLAYBOOK = (
    "Godbole, V., Dahl, G. E., Gilmer, J., Shallue, C. J. & Nado, Z. (2023). Deep Learning "
    "Tuning Playbook. Google Research. https://github.com/google-research/tuning_playbook"
)
LECUN = (
    "LeCun, Y., Bottou, L., Orr, G. B. & Mueller, K.-R. (1998). Efficient BackProp. In Neural "
    "Networks: Tricks of the Trade, LNCS 1524, Springer. https://doi.org/10.1007/3-540-49430-8_2"
)
GOODFELLOW_7 = (
    "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, ch. 7 (Regularization "
    "for Deep Learning). MIT Press. https://www.deeplearningbook.org/"
)
GOODFELLOW_8 = (
    "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, ch. 8 (Optimization for "
    "Training Deep Models). MIT Press. https://www.deeplearningbook.org/"
)
GOODFELLOW_5 = (
    "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, sec. 5.3 "
    "(Hyperparameters and Validation Sets, incl. cross-validation). MIT Press. "
    "https://www.deeplearningbook.org/"
)
SZEGEDY = (
    "Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J. & Wojna, Z. (2016). Rethinking the "
    "Inception Architecture for Computer Vision. CVPR 2016. https://arxiv.org/abs/1512.00567"
)
KAUFMAN = (
    "Kaufman, S., Rosset, S., Perlich, C. & Stitelman, O. (2012). Leakage in Data Mining: "
    "Formulation, Detection, and Avoidance. ACM TKDD 6(4). https://doi.org/10.1145/2382577.2382579"
)
BARZ = (
    "Barz, B. & Denzler, J. (2020). Do We Train on Test Data? Purging CIFAR of Near-Duplicates. "
    "Journal of Imaging 6(6), 41. https://arxiv.org/abs/1902.00423"
)
HE_GARCIA = (
    "He, H. & Garcia, E. A. (2009). Learning from Imbalanced Data. IEEE TKDE 21(9). "
    "https://doi.org/10.1109/TKDE.2008.239"
)
TORCH_AUTOGRAD = (
    "PyTorch documentation: Automatic differentiation package, torch.autograd (incl. "
    "gradcheck). https://pytorch.org/docs/stable/autograd.html"
)
TORCH_CE = (
    "PyTorch documentation: torch.nn.CrossEntropyLoss (expects unnormalized logits). "
    "https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html"
)
TORCH_EVAL = (
    "PyTorch documentation: torch.nn.Module.eval (dropout and batch norm behave differently "
    "in evaluation mode). https://pytorch.org/docs/stable/generated/torch.nn.Module.html"
)


def _code(text: str) -> str:
    return dedent(text).strip("\n")


def _how(**snippets: str) -> dict[str, str]:
    return {framework: _code(text) for framework, text in snippets.items()}


_C, _K, _D, _A = Effort.CONFIG, Effort.CODE, Effort.DATA, Effort.ARCHITECTURE

REMEDIES: tuple[Remedy, ...] = (
    # --- Overfitting -----------------------------------------------------------------------
    Remedy(
        "early-stopping",
        "Stop training when validation stops improving, and restore the best weights",
        _C,
        "Monitor the validation loss and stop once it has not improved for `patience` "
        "evaluations (5-10 is typical), then restore the weights of the best evaluation; the "
        "run ends near the validation optimum instead of drifting into overfitting.",
        _how(
            pytorch="""
                best, bad, patience = float("inf"), 0, 5
                for epoch in range(max_epochs):
                    train_one_epoch(model, train_loader, optimizer)
                    val_loss = evaluate(model, val_loader)  # model.eval() + torch.no_grad()
                    if val_loss < best - 1e-4:
                        best, bad = val_loss, 0
                        torch.save(model.state_dict(), "best.pt")
                    else:
                        bad += 1
                        if bad >= patience:
                            break
                model.load_state_dict(torch.load("best.pt"))
            """,
            lightning="""
                from lightning.pytorch import Trainer
                from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

                # in validation_step: self.log("val_loss", loss)
                early = EarlyStopping(monitor="val_loss", mode="min", patience=5)
                best = ModelCheckpoint(monitor="val_loss", mode="min", save_top_k=1)
                trainer = Trainer(max_epochs=100, callbacks=[early, best])
                trainer.fit(model, train_loader, val_loader)
                trainer.validate(model, val_loader, ckpt_path="best")  # the best weights
            """,
            keras="""
                import keras

                early = keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=5, restore_best_weights=True
                )
                model.fit(x_train, y_train, validation_data=(x_val, y_val),
                          epochs=100, callbacks=[early])
            """,
            huggingface="""
                from transformers import EarlyStoppingCallback, Trainer, TrainingArguments

                args = TrainingArguments(
                    output_dir="out",
                    eval_strategy="epoch",
                    save_strategy="epoch",
                    load_best_model_at_end=True,
                    metric_for_best_model="eval_loss",
                    greater_is_better=False,
                    save_total_limit=2,
                )
                trainer = Trainer(model=model, args=args, train_dataset=train_ds,
                                  eval_dataset=val_ds,
                                  callbacks=[EarlyStoppingCallback(early_stopping_patience=3)])
                trainer.train()
            """,
        ),
        (PRECHELT, GOODFELLOW_7, KARPATHY),
    ),
    Remedy(
        "restore-best-checkpoint",
        "Keep the best checkpoint, not the last one",
        _C,
        "Save a checkpoint whenever the validation metric improves and evaluate or ship that "
        "one: a run that trained past its best already had better weights than its final "
        "ones. Choose the checkpoint on validation only and report the number on a separate "
        "test set.",
        _how(
            pytorch="""
                if val_loss < best_val:
                    best_val = val_loss
                    torch.save({"epoch": epoch, "model": model.state_dict()}, "best.pt")
                # after training
                model.load_state_dict(torch.load("best.pt")["model"])
            """,
            lightning="""
                from lightning.pytorch.callbacks import ModelCheckpoint

                ckpt = ModelCheckpoint(monitor="val_loss", mode="min", save_top_k=1)
                trainer = Trainer(callbacks=[ckpt])
                trainer.fit(model, train_loader, val_loader)
                print(ckpt.best_model_path, ckpt.best_model_score)
                trainer.test(model, test_loader, ckpt_path="best")
            """,
            keras="""
                import keras

                ckpt = keras.callbacks.ModelCheckpoint(
                    "best.keras", monitor="val_loss", save_best_only=True
                )
                model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[ckpt])
                model = keras.models.load_model("best.keras")
            """,
            huggingface="""
                args = TrainingArguments(
                    output_dir="out",
                    eval_strategy="epoch",
                    save_strategy="epoch",  # must match eval_strategy
                    load_best_model_at_end=True,
                    metric_for_best_model="eval_loss",
                )
                trainer = Trainer(model=model, args=args, train_dataset=train_ds,
                                  eval_dataset=val_ds)
                trainer.train()
                print(trainer.state.best_model_checkpoint)
                trainer.save_model("best-model")  # the best weights are loaded at the end
            """,
        ),
        (PRECHELT, GOODFELLOW_7),
    ),
    Remedy(
        "weight-decay",
        "Add weight decay (decoupled, with AdamW)",
        _C,
        "Penalize large weights so the network prefers simpler fits: with SGD use weight "
        "decay 1e-4 to 5e-4; with Adam switch to AdamW (decoupled decay) at 0.01-0.1, because "
        "an L2 term added to the loss is rescaled by Adam and regularizes unevenly. Usually "
        "leave biases and normalization parameters undecayed.",
        _how(
            pytorch="""
                decay = [p for p in model.parameters() if p.ndim >= 2]   # weight matrices
                no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases, norms
                optimizer = torch.optim.AdamW(
                    [{"params": decay, "weight_decay": 0.05},
                     {"params": no_decay, "weight_decay": 0.0}],
                    lr=3e-4,
                )
                # SGD: torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
            """,
            lightning="""
                def configure_optimizers(self):
                    return torch.optim.AdamW(self.parameters(), lr=3e-4, weight_decay=0.05)
            """,
            keras="""
                import keras

                optimizer = keras.optimizers.AdamW(learning_rate=3e-4, weight_decay=0.05)
                optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
                model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
                # or per layer (plain L2 penalty):
                # keras.layers.Dense(256, kernel_regularizer=keras.regularizers.L2(1e-4))
            """,
            huggingface="""
                # the Trainer's AdamW already skips biases and LayerNorm weights
                args = TrainingArguments(output_dir="out", weight_decay=0.01)
            """,
        ),
        (KROGH, LOSHCHILOV, GOODFELLOW_7),
    ),
    Remedy(
        "dropout",
        "Add dropout to the largest layers",
        _K,
        "Randomly zero activations during training (p = 0.2-0.5, starting with the large "
        "fully connected layers; 0.1 is common in transformers) so units cannot co-adapt; "
        "dropout is active only in training mode, so validate with the model in eval mode.",
        _how(
            pytorch="""
                head = nn.Sequential(
                    nn.Flatten(),
                    nn.Linear(4096, 1024), nn.ReLU(), nn.Dropout(p=0.5),
                    nn.Linear(1024, n_classes),
                )
            """,
            lightning="""
                # inside the LightningModule; Lightning switches to eval mode for validation
                self.head = nn.Sequential(nn.Linear(4096, 1024), nn.ReLU(), nn.Dropout(0.5),
                                          nn.Linear(1024, n_classes))
            """,
            keras="""
                x = keras.layers.Dense(1024, activation="relu")(x)
                x = keras.layers.Dropout(0.5)(x)
                outputs = keras.layers.Dense(n_classes)(x)
            """,
            huggingface="""
                # attribute names depend on the architecture (BERT shown); see model.config
                model = AutoModelForSequenceClassification.from_pretrained(
                    "google-bert/bert-base-uncased", num_labels=n_classes,
                    hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.2,
                )
            """,
        ),
        (SRIVASTAVA, GOODFELLOW_7, CS230),
    ),
    Remedy(
        "data-augmentation",
        "Augment the training data",
        _D,
        "Train on random, label-preserving transformations of each example (flips, crops, "
        "small rotations, color jitter for images; noise, masking or time shifts for audio "
        "and sequences) so the model sees more variation than the raw set holds; apply them "
        "to the training split only.",
        _how(
            pytorch="""
                from torchvision.transforms import v2

                train_tf = v2.Compose([
                    v2.RandomResizedCrop(224, scale=(0.6, 1.0)),
                    v2.RandomHorizontalFlip(),
                    v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
                    v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                    v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
                ])
                val_tf = v2.Compose([
                    v2.Resize(256), v2.CenterCrop(224),
                    v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                    v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
                ])
            """,
            lightning="""
                # in the LightningDataModule: augment the train dataset only
                def setup(self, stage):
                    self.train_ds = ImageFolder("data/train", transform=train_tf)
                    self.val_ds = ImageFolder("data/val", transform=val_tf)
            """,
            keras="""
                augment = keras.Sequential([
                    keras.layers.RandomFlip("horizontal"),
                    keras.layers.RandomRotation(0.1),
                    keras.layers.RandomZoom(0.1),
                ])
                inputs = keras.Input(shape=(224, 224, 3))
                x = augment(inputs)  # active in fit(), inactive in evaluate()/predict()
            """,
            huggingface="""
                from torchvision.transforms import v2

                processor = AutoImageProcessor.from_pretrained(checkpoint)
                train_tf = v2.Compose([
                    v2.RandomResizedCrop(224), v2.RandomHorizontalFlip(),
                    v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                    v2.Normalize(mean=processor.image_mean, std=processor.image_std),
                ])

                def train_transforms(batch):
                    batch["pixel_values"] = [train_tf(img.convert("RGB")) for img in batch["image"]]
                    return batch

                train_ds.set_transform(train_transforms)  # val_ds keeps deterministic transforms
                args = TrainingArguments(output_dir="out", remove_unused_columns=False)
            """,
        ),
        (SHORTEN, GOODFELLOW_7, KARPATHY),
    ),
    Remedy(
        "more-data",
        "Get more training data",
        _D,
        "Collect or label more examples: Karpathy's recipe calls it by far the best way to "
        "regularize. Estimate the payoff first by training on 25, 50 and 100% of the data; if "
        "validation still improves with size, more data will help.",
        _how(
            pytorch="""
                from torch.utils.data import DataLoader, Subset

                for frac in (0.25, 0.5, 1.0):
                    idx = torch.randperm(len(train_ds))[: int(frac * len(train_ds))]
                    model = make_model()
                    fit(model, DataLoader(Subset(train_ds, idx.tolist()), batch_size=64,
                                          shuffle=True))
                    print(frac, evaluate(model, val_loader))  # still improving at 100%?
            """,
            lightning="""
                for frac in (0.25, 0.5, 1.0):
                    idx = torch.randperm(len(train_ds))[: int(frac * len(train_ds))].tolist()
                    loader = DataLoader(Subset(train_ds, idx), batch_size=64, shuffle=True)
                    trainer = Trainer(max_epochs=50)
                    trainer.fit(make_model(), loader, val_loader)
                    print(frac, trainer.callback_metrics["val_loss"].item())
            """,
            keras="""
                for frac in (0.25, 0.5, 1.0):
                    n = int(frac * len(x_train))
                    model = make_model()
                    model.fit(x_train[:n], y_train[:n], epochs=50, verbose=0)
                    print(frac, model.evaluate(x_val, y_val, verbose=0))
            """,
            huggingface="""
                for frac in (0.25, 0.5, 1.0):
                    subset = train_ds.shuffle(seed=0).select(range(int(frac * len(train_ds))))
                    trainer = Trainer(model=make_model(), args=args, train_dataset=subset,
                                      eval_dataset=val_ds)
                    trainer.train()
                    print(frac, trainer.evaluate()["eval_loss"])
            """,
        ),
        (KARPATHY, GOODFELLOW_7),
    ),
    Remedy(
        "smaller-model",
        "Use a smaller model",
        _A,
        "Reduce capacity (fewer layers or units, a smaller pretrained variant) until the "
        "train/validation gap narrows without hurting validation; Karpathy ranks this after "
        "more data, augmentation and pretraining.",
        _how(
            pytorch="""
                model = nn.Sequential(
                    nn.Linear(n_features, 128), nn.ReLU(),   # was 2 x 1024 units
                    nn.Linear(128, n_classes),
                )
            """,
            lightning="""
                class Net(L.LightningModule):
                    def __init__(self, hidden: int = 128):  # sweep hidden down: 1024, 256, 128
                        super().__init__()
                        self.save_hyperparameters()
                        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(),
                                                 nn.Linear(hidden, n_classes))
            """,
            keras="""
                model = keras.Sequential([
                    keras.Input(shape=(n_features,)),
                    keras.layers.Dense(128, activation="relu"),  # was 2 x 1024 units
                    keras.layers.Dense(n_classes),
                ])
            """,
            huggingface="""
                # a distilled or smaller variant of the same family
                model = AutoModelForSequenceClassification.from_pretrained(
                    "distilbert/distilbert-base-uncased", num_labels=n_classes
                )
            """,
        ),
        (KARPATHY, GOODFELLOW_7, CS231N),
    ),
    Remedy(
        "transfer-learning",
        "Start from a pretrained network and fine-tune it",
        _A,
        "Initialize from a model pretrained on a large related dataset, train a new head with "
        "the backbone frozen, then unfreeze and fine-tune with a lower learning rate; "
        "Yosinski et al. found transferred features help generalization even after "
        "fine-tuning, with gains shrinking as the tasks grow apart.",
        _how(
            pytorch="""
                from torchvision.models import ResNet50_Weights, resnet50

                model = resnet50(weights=ResNet50_Weights.DEFAULT)
                for p in model.parameters():
                    p.requires_grad = False                   # freeze the backbone
                model.fc = nn.Linear(model.fc.in_features, n_classes)  # new head, trainable
                optimizer = torch.optim.AdamW(model.fc.parameters(), lr=1e-3)
            """,
            lightning="""
                from lightning.pytorch.callbacks import BackboneFinetuning

                # the LightningModule must expose the pretrained part as `self.backbone`
                trainer = Trainer(callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=5)])
            """,
            keras="""
                base = keras.applications.ResNet50(weights="imagenet", include_top=False,
                                                   pooling="avg")
                base.trainable = False
                inputs = keras.Input(shape=(224, 224, 3))
                x = keras.applications.resnet50.preprocess_input(inputs)
                outputs = keras.layers.Dense(n_classes)(base(x, training=False))
                model = keras.Model(inputs, outputs)
                # later: base.trainable = True; recompile with a lower learning rate; fit again
            """,
            huggingface="""
                model = AutoModelForImageClassification.from_pretrained(
                    "google/vit-base-patch16-224-in21k", num_labels=n_classes
                )
                for p in model.base_model.parameters():
                    p.requires_grad = False  # train the head first, then unfreeze
            """,
        ),
        (YOSINSKI, KARPATHY),
    ),
    Remedy(
        "smaller-batch",
        "Try a smaller batch size",
        _C,
        "Halve the batch size (and retune the learning rate): Keskar et al. found that large "
        "batches tend to reach sharp minima that generalize worse, and Karpathy notes that "
        "smaller batches regularize more when batch norm is used. The effect is modest and "
        "not guaranteed.",
        _how(
            pytorch="""
                train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)  # was 256
            """,
            lightning="""
                # in the LightningDataModule
                def train_dataloader(self):
                    return DataLoader(self.train_ds, batch_size=32, shuffle=True)
            """,
            keras="""
                model.fit(x_train, y_train, batch_size=32, validation_data=(x_val, y_val))
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", per_device_train_batch_size=16,
                                         gradient_accumulation_steps=1)
            """,
        ),
        (KESKAR, KARPATHY),
    ),
    # --- Underfitting / not learning --------------------------------------------------------
    Remedy(
        "check-data-pipeline",
        "Inspect the batches that actually reach the model",
        _K,
        "Look at a decoded batch right before `model(x)`: shapes, dtypes, value ranges, NaNs, "
        "whether labels match their inputs, and whether examples differ at all; a loss that "
        "does not move, rises, or explodes is often a data bug rather than an optimization "
        "problem.",
        _how(
            pytorch="""
                x, y = next(iter(train_loader))
                print(x.shape, x.dtype, x.min().item(), x.max().item(), x.float().std().item())
                print(y[:16], y.dtype)           # labels aligned with the inputs shown?
                assert torch.isfinite(x).all(), "non-finite inputs"
                assert x.float().std() > 0, "every example in the batch is identical"
            """,
            lightning="""
                dm.setup("fit")
                x, y = next(iter(dm.train_dataloader()))
                print(x.shape, x.dtype, x.min().item(), x.max().item(), y[:16])
                Trainer(fast_dev_run=True).fit(model, datamodule=dm)  # one batch end to end
            """,
            keras="""
                import numpy as np

                print(x_train.shape, x_train.dtype, x_train.min(), x_train.max())
                print(np.isfinite(x_train).all(), np.unique(y_train, return_counts=True))
            """,
            huggingface="""
                batch = next(iter(trainer.get_train_dataloader()))
                print({k: tuple(v.shape) for k, v in batch.items()})
                print(tokenizer.batch_decode(batch["input_ids"][:2]), batch["labels"][:2])
            """,
        ),
        (KARPATHY, PLAYBOOK),
    ),
    Remedy(
        "overfit-one-batch",
        "Check that the model can overfit one small batch",
        _K,
        "Train on a single batch of 2-20 examples with regularization and augmentation off: "
        "the loss should fall to near its minimum (about 0 for classification) within a few "
        "hundred steps. If it cannot, the bug is in the model, loss or labels, not in the "
        "amount of data.",
        _how(
            pytorch="""
                x, y = next(iter(train_loader))
                x, y = x[:16], y[:16]
                model.train()
                for step in range(500):
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                print(loss.item())  # should be close to 0
            """,
            lightning="""
                # reuses the same batch every epoch, without shuffling
                trainer = Trainer(overfit_batches=1, max_epochs=200)
                trainer.fit(model, train_loader)
            """,
            keras="""
                history = model.fit(x_train[:16], y_train[:16], batch_size=16, epochs=300,
                                    verbose=0)
                print(history.history["loss"][-1])  # should be close to 0
            """,
            huggingface="""
                args = TrainingArguments(output_dir="overfit", num_train_epochs=100,
                                         weight_decay=0.0, eval_strategy="no", report_to="none")
                trainer = Trainer(model=model, args=args, train_dataset=train_ds.select(range(16)))
                print(trainer.train().training_loss)
            """,
        ),
        (KARPATHY, CS231N),
    ),
    Remedy(
        "tune-learning-rate",
        "Tune the learning rate",
        _C,
        "Sweep the learning rate on a log scale (e.g. 1e-5 to 1e-1, or run an LR range test) "
        "and keep the largest value that trains stably; Adam at 3e-4 is a safe baseline. Too "
        "low looks like no learning, too high like noise or divergence; an update-to-weight "
        "ratio near 1e-3 per step is a healthy sign.",
        _how(
            pytorch="""
                for lr in (1e-4, 3e-4, 1e-3, 3e-3):
                    model = make_model()
                    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
                    print(lr, fit_for_a_few_epochs(model, optimizer))

                # update/weight ratio for one step (CS231n: about 1e-3 is healthy)
                before = [p.detach().clone() for p in model.parameters()]
                optimizer.step()
                ratios = [((p - b).norm() / b.norm()).item()
                          for p, b in zip(model.parameters(), before) if b.norm() > 0]
            """,
            lightning="""
                from lightning.pytorch.tuner import Tuner

                trainer = Trainer(max_epochs=20)
                lr_finder = Tuner(trainer).lr_find(model)  # model needs an `lr` attribute
                print(lr_finder.suggestion())
            """,
            keras="""
                for lr in (1e-4, 3e-4, 1e-3, 3e-3):
                    model = make_model()
                    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=loss)
                    h = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=5,
                                  verbose=0)
                    print(lr, h.history["val_loss"][-1])
            """,
            huggingface="""
                for lr in (1e-5, 3e-5, 1e-4):
                    args = TrainingArguments(output_dir=f"lr-{lr}", learning_rate=lr,
                                             eval_strategy="epoch", num_train_epochs=2)
                    trainer = Trainer(model=make_model(), args=args, train_dataset=train_ds,
                                      eval_dataset=val_ds)
                    trainer.train()
                    print(lr, trainer.evaluate()["eval_loss"])
            """,
        ),
        (KARPATHY, SMITH_CLR, CS231N, PLAYBOOK),
    ),
    Remedy(
        "normalize-inputs",
        "Normalize the inputs",
        _K,
        "Standardize each input feature to zero mean and unit variance using training-set "
        "statistics (images: scale to [0, 1], then normalize per channel); badly scaled "
        "inputs make the loss surface ill-conditioned and push units into saturation.",
        _how(
            pytorch="""
                mean = x_train.mean(dim=0, keepdim=True)
                std = x_train.std(dim=0, keepdim=True).clamp_min(1e-8)
                x_train = (x_train - mean) / std
                x_val = (x_val - mean) / std  # training statistics for every split
                # images: v2.ToDtype(torch.float32, scale=True) then v2.Normalize(mean, std)
            """,
            lightning="""
                # in the LightningDataModule
                def setup(self, stage):
                    self.mean = self.x_train.mean(0, keepdim=True)
                    self.std = self.x_train.std(0, keepdim=True).clamp_min(1e-8)
                    self.train_ds = TensorDataset((self.x_train - self.mean) / self.std,
                                                  self.y_train)
                    self.val_ds = TensorDataset((self.x_val - self.mean) / self.std, self.y_val)
            """,
            keras="""
                norm = keras.layers.Normalization()
                norm.adapt(x_train)  # learns mean and variance from the training set
                model = keras.Sequential([keras.Input(shape=(n_features,)), norm,
                                          keras.layers.Dense(64, activation="relu"),
                                          keras.layers.Dense(n_classes)])
            """,
            huggingface="""
                # use the checkpoint's own processor so inputs match pretraining
                processor = AutoImageProcessor.from_pretrained(checkpoint)
                inputs = processor(images=images, return_tensors="pt")  # resized + normalized
            """,
        ),
        (LECUN, CS231N_PREP),
    ),
    Remedy(
        "he-xavier-init",
        "Initialize weights for the activation: He for ReLU, Xavier for tanh",
        _K,
        "Initialize weights with a variance matched to the activation, He (Kaiming) for "
        "ReLU-family layers and Xavier (Glorot) for tanh or sigmoid, with zero biases; this "
        "keeps activation and gradient scales roughly constant from layer to layer so deep "
        "networks start learning.",
        _how(
            pytorch="""
                def init_weights(m):
                    if isinstance(m, (nn.Linear, nn.Conv2d)):
                        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                        # tanh layers instead:
                        # nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("tanh"))
                        if m.bias is not None:
                            nn.init.zeros_(m.bias)

                model.apply(init_weights)
            """,
            lightning="""
                class Net(L.LightningModule):
                    def __init__(self):
                        super().__init__()
                        self.net = build_net()
                        self.net.apply(init_weights)  # init_weights as in the PyTorch snippet
            """,
            keras="""
                keras.layers.Dense(256, activation="relu", kernel_initializer="he_normal")
                keras.layers.Dense(256, activation="tanh", kernel_initializer="glorot_uniform")
            """,
        ),
        (GLOROT, HE_INIT, CS231N_PREP),
    ),
    Remedy(
        "non-saturating-activations",
        "Use non-saturating activations (ReLU, LeakyReLU, GELU) in hidden layers",
        _A,
        "Replace sigmoid or tanh hidden activations with ReLU-family ones, whose gradient does "
        "not vanish for large inputs; LeakyReLU (slope about 0.01) also keeps a gradient for "
        "units that would otherwise stay dead. Keep sigmoid or softmax only at the output, "
        "matched to the loss.",
        _how(
            pytorch="""
                model = nn.Sequential(
                    nn.Linear(n_features, 256), nn.LeakyReLU(0.01),   # was nn.Sigmoid()
                    nn.Linear(256, 256), nn.LeakyReLU(0.01),
                    nn.Linear(256, n_classes),
                )
            """,
            lightning="""
                # same module as in plain PyTorch, inside the LightningModule
                self.net = nn.Sequential(nn.Linear(n_features, 256), nn.ReLU(),
                                         nn.Linear(256, n_classes))
            """,
            keras="""
                x = keras.layers.Dense(256)(x)
                x = keras.layers.LeakyReLU(negative_slope=0.01)(x)   # or activation="relu"
            """,
        ),
        (NAIR, MAAS, GLOROT),
    ),
    Remedy(
        "bigger-model",
        "Increase model capacity",
        _A,
        "Add units or layers, or move to a larger pretrained variant, when the training error "
        "itself stays high and validation tracks it closely; a model that cannot fit the "
        "training set cannot generalize. Grow it step by step and watch the train/validation "
        "gap.",
        _how(
            pytorch="""
                model = nn.Sequential(
                    nn.Linear(n_features, 512), nn.ReLU(),
                    nn.Linear(512, 512), nn.ReLU(),          # an extra, wider hidden layer
                    nn.Linear(512, n_classes),
                )
            """,
            lightning="""
                model = Net(hidden=512, n_layers=3)  # was hidden=128, n_layers=2
            """,
            keras="""
                model = keras.Sequential([
                    keras.Input(shape=(n_features,)),
                    keras.layers.Dense(512, activation="relu"),
                    keras.layers.Dense(512, activation="relu"),
                    keras.layers.Dense(n_classes),
                ])
            """,
            huggingface="""
                model = AutoModelForSequenceClassification.from_pretrained(
                    "FacebookAI/roberta-large", num_labels=n_classes   # was roberta-base
                )
            """,
        ),
        (CS231N, KARPATHY),
    ),
    Remedy(
        "train-longer",
        "Train longer",
        _C,
        "Give the run more epochs or steps (stretching the learning-rate schedule with it) "
        "while validation is still improving at the end; the Tuning Playbook calls such runs "
        "compute-bound. Keep early stopping on so the extra epochs cannot hurt.",
        _how(
            pytorch="""
                epochs = 2 * epochs
                scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
            """,
            lightning="""
                trainer = Trainer(max_epochs=200,  # was 100
                                  callbacks=[EarlyStopping(monitor="val_loss", patience=10)])
            """,
            keras="""
                # continue the same model for more epochs
                model.fit(x_train, y_train, validation_data=(x_val, y_val),
                          initial_epoch=100, epochs=200, callbacks=[early_stopping])
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", num_train_epochs=20,  # was 10
                                         eval_strategy="epoch", save_strategy="epoch",
                                         load_best_model_at_end=True)
            """,
        ),
        (PLAYBOOK,),
    ),
    Remedy(
        "reduce-regularization",
        "Reduce regularization",
        _C,
        "When the model underfits, lower dropout, weight decay, label smoothing and "
        "augmentation strength (switch them off to check): regularization trades training fit "
        "for generalization and only pays when there is a train/validation gap to close.",
        _how(
            pytorch="""
                nn.Dropout(p=0.1)                                         # was 0.5
                optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.0)
            """,
            lightning="""
                model = Net(dropout=0.1, weight_decay=0.0)  # hyperparameters of your module
            """,
            keras="""
                keras.layers.Dropout(0.1)                                 # was 0.5
                optimizer = keras.optimizers.AdamW(learning_rate=3e-4, weight_decay=1e-5)
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", weight_decay=0.0,
                                         label_smoothing_factor=0.0)
            """,
        ),
        (CS231N, GOODFELLOW_7, KARPATHY),
    ),
    Remedy(
        "cyclical-learning-rate",
        "Use a cyclical or one-cycle learning-rate schedule",
        _C,
        "Let the learning rate cycle between bounds found with an LR range test (Smith 2017), "
        "or use a single one-cycle schedule (Smith & Topin 2019): periods of high learning "
        "rate help leave plateaus, and one-cycle can reach comparable accuracy in fewer "
        "epochs.",
        _how(
            pytorch="""
                scheduler = torch.optim.lr_scheduler.OneCycleLR(
                    optimizer, max_lr=1e-2, total_steps=epochs * len(train_loader)
                )
                # call scheduler.step() after every optimizer.step()
                # cyclical: torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=1e-4, max_lr=1e-2)
            """,
            lightning="""
                def configure_optimizers(self):
                    opt = torch.optim.SGD(self.parameters(), lr=1e-2, momentum=0.9)
                    sched = torch.optim.lr_scheduler.OneCycleLR(
                        opt, max_lr=1e-2, total_steps=self.trainer.estimated_stepping_batches
                    )
                    return {"optimizer": opt,
                            "lr_scheduler": {"scheduler": sched, "interval": "step"}}
            """,
            keras="""
                # Keras has no one-cycle schedule built in; cosine with warm restarts is closest
                schedule = keras.optimizers.schedules.CosineDecayRestarts(
                    initial_learning_rate=1e-3, first_decay_steps=1000
                )
                optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", lr_scheduler_type="cosine_with_restarts",
                                         lr_scheduler_kwargs={"num_cycles": 3})
            """,
        ),
        (SMITH_CLR, SMITH_TOPIN),
    ),
    # --- Divergence and instability ---------------------------------------------------------
    Remedy(
        "lower-learning-rate",
        "Lower the learning rate",
        _C,
        "Divide the learning rate by 3 to 10 and restart from the last healthy checkpoint: a "
        "step too large for the local curvature makes the loss spike or diverge. Adam at 3e-4 "
        "is a safe default to return to.",
        _how(
            pytorch="""
                optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)   # was 3e-3
            """,
            lightning="""
                def configure_optimizers(self):
                    return torch.optim.Adam(self.parameters(), lr=3e-4)     # was 3e-3
            """,
            keras="""
                model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-4), loss=loss)
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", learning_rate=1e-5)  # was 5e-5
            """,
        ),
        (KARPATHY, PLAYBOOK, GOODFELLOW_8),
    ),
    Remedy(
        "gradient-clipping",
        "Clip the gradient norm",
        _C,
        "Clip the global gradient norm so one bad batch cannot throw the weights far away: log "
        "unclipped norms for a while and set the threshold near their 90th percentile; if more "
        "than half of the steps get clipped, lower the learning rate instead.",
        _how(
            pytorch="""
                loss.backward()
                # returns the norm before clipping: log it to choose the threshold
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                optimizer.step()
                # with torch.amp.GradScaler: call scaler.unscale_(optimizer) before clipping
            """,
            lightning="""
                trainer = Trainer(gradient_clip_val=1.0, gradient_clip_algorithm="norm")
            """,
            keras="""
                # global_clipnorm clips the norm of all gradients together;
                # clipnorm=1.0 would clip each weight's gradient separately
                optimizer = keras.optimizers.AdamW(learning_rate=3e-4, global_clipnorm=1.0)
            """,
            huggingface="""
                # the Trainer clips at 1.0 by default and logs grad_norm; lower it if spikes persist
                args = TrainingArguments(output_dir="out", max_grad_norm=0.5)
            """,
        ),
        (PASCANU, PLAYBOOK),
    ),
    Remedy(
        "learning-rate-warmup",
        "Warm up the learning rate",
        _C,
        "Ramp the learning rate linearly from near zero to its target over the first steps "
        "(at most about 10% of training; Goyal et al. used 5 epochs for large-batch ImageNet): "
        "large steps on a freshly initialized network are what usually blows up early.",
        _how(
            pytorch="""
                from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

                warmup = int(0.05 * total_steps)
                scheduler = SequentialLR(
                    optimizer,
                    [LinearLR(optimizer, start_factor=0.01, total_iters=warmup),
                     CosineAnnealingLR(optimizer, T_max=total_steps - warmup)],
                    milestones=[warmup],
                )
                # call scheduler.step() after every optimizer.step()
            """,
            lightning="""
                def configure_optimizers(self):
                    opt = torch.optim.AdamW(self.parameters(), lr=3e-4)
                    total = self.trainer.estimated_stepping_batches
                    warmup = int(0.05 * total)
                    sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.01, total_iters=warmup),
                                               CosineAnnealingLR(opt, T_max=total - warmup)],
                                         milestones=[warmup])
                    return {"optimizer": opt,
                            "lr_scheduler": {"scheduler": sched, "interval": "step"}}
            """,
            keras="""
                schedule = keras.optimizers.schedules.CosineDecay(
                    initial_learning_rate=0.0, decay_steps=total_steps - warmup_steps,
                    warmup_target=3e-4, warmup_steps=warmup_steps,
                )
                optimizer = keras.optimizers.AdamW(learning_rate=schedule)
            """,
            huggingface="""
                # transformers >= 5: a float below 1 is a fraction of the training steps;
                # transformers 4.x: warmup_ratio=0.05
                args = TrainingArguments(output_dir="out", warmup_steps=0.05)
            """,
        ),
        (GOYAL, PLAYBOOK),
    ),
    Remedy(
        "batch-normalization",
        "Add normalization layers (BatchNorm)",
        _A,
        "Insert batch normalization after convolutions or linear layers, before the "
        "nonlinearity, to keep activations well scaled; it tolerates higher learning rates "
        "and makes training less sensitive to initialization. Prefer LayerNorm or GroupNorm "
        "for very small batches and for sequences.",
        _how(
            pytorch="""
                block = nn.Sequential(
                    nn.Conv2d(64, 128, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(128),
                    nn.ReLU(),
                )
            """,
            lightning="""
                # same layers as plain PyTorch; for multi-GPU runs also sync the statistics:
                trainer = Trainer(sync_batchnorm=True)
            """,
            keras="""
                x = keras.layers.Conv2D(128, 3, padding="same", use_bias=False)(x)
                x = keras.layers.BatchNormalization()(x)
                x = keras.layers.Activation("relu")(x)
            """,
        ),
        (IOFFE, CS230),
    ),
    Remedy(
        "learning-rate-decay",
        "Decay the learning rate",
        _C,
        "Lower the learning rate as training proceeds (cosine or step decay, or halve it "
        "when validation plateaus) so late updates are small enough to settle; the Tuning "
        "Playbook lists decay among the cures for noisy late training.",
        _how(
            pytorch="""
                scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                    optimizer, mode="min", factor=0.5, patience=3
                )
                # after each validation:
                scheduler.step(val_loss)
            """,
            lightning="""
                def configure_optimizers(self):
                    opt = torch.optim.AdamW(self.parameters(), lr=3e-4)
                    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5,
                                                                       patience=3)
                    return {"optimizer": opt,
                            "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
            """,
            keras="""
                reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                           patience=3)
                model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[reduce])
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", lr_scheduler_type="cosine")
            """,
        ),
        (PLAYBOOK, GOODFELLOW_8),
    ),
    Remedy(
        "larger-batch",
        "Use a larger batch (or accumulate gradients)",
        _C,
        "Increase the batch size, or accumulate gradients over several batches, to reduce "
        "gradient noise; scale the learning rate with it (linear scaling rule) and warm up. "
        "Very large batches can generalize worse (Keskar et al. 2017), so use this against "
        "instability, not against overfitting.",
        _how(
            pytorch="""
                accum = 4  # effective batch = 4 x batch_size
                for i, (x, y) in enumerate(train_loader):
                    (criterion(model(x), y) / accum).backward()
                    if (i + 1) % accum == 0:
                        optimizer.step()
                        optimizer.zero_grad()
            """,
            lightning="""
                trainer = Trainer(accumulate_grad_batches=4)
            """,
            keras="""
                optimizer = keras.optimizers.AdamW(learning_rate=3e-4,
                                                   gradient_accumulation_steps=4)
                # or simply: model.fit(x_train, y_train, batch_size=256)
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", per_device_train_batch_size=32,
                                         gradient_accumulation_steps=4)
            """,
        ),
        (GOYAL, PLAYBOOK, KESKAR),
    ),
    # --- Validation quality ----------------------------------------------------------------
    Remedy(
        "larger-validation-set",
        "Evaluate on more validation examples",
        _D,
        "Evaluate on the whole validation set every time, and enlarge it if you can: the "
        "standard error of an accuracy p measured on n examples is about sqrt(p(1-p)/n), "
        "e.g. 1.4 points at 70% accuracy on 1,000 examples, which can be as large as the "
        "changes you are trying to see.",
        _how(
            pytorch="""
                from torch.utils.data import random_split

                train_ds, val_ds = random_split(full_ds, [0.8, 0.2],
                                                generator=torch.Generator().manual_seed(0))
                val_loader = DataLoader(val_ds, batch_size=256)  # evaluate on all of it
            """,
            lightning="""
                trainer = Trainer(limit_val_batches=1.0)  # a fraction < 1 evaluates only part
            """,
            keras="""
                model.fit(x, y, validation_split=0.2)  # or a larger validation_data set
            """,
            huggingface="""
                splits = full_ds.train_test_split(test_size=0.2, seed=0)
                trainer = Trainer(model=model, args=args, train_dataset=splits["train"],
                                  eval_dataset=splits["test"])  # not .select(range(200))
            """,
        ),
        (KARPATHY, PLAYBOOK),
    ),
    Remedy(
        "k-fold-validation",
        "Use k-fold cross-validation",
        _K,
        "When data are scarce, train k models (k = 5 or 10) on stratified folds and report "
        "the mean and spread of the validation metric, instead of trusting one small split; "
        "Kohavi (1995) recommends stratified 10-fold cross-validation for model selection.",
        _how(
            pytorch="""
                from sklearn.model_selection import StratifiedKFold
                from torch.utils.data import DataLoader, Subset

                scores = []
                folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
                for train_idx, val_idx in folds.split(X, y):
                    model = make_model()  # a fresh model per fold
                    fit(model, DataLoader(Subset(ds, train_idx), batch_size=64, shuffle=True))
                    scores.append(evaluate(model, DataLoader(Subset(ds, val_idx), batch_size=256)))
                print(np.mean(scores), np.std(scores))
            """,
            lightning="""
                for train_idx, val_idx in folds.split(X, y):
                    trainer = Trainer(max_epochs=50)
                    trainer.fit(make_model(),
                                DataLoader(Subset(ds, train_idx), batch_size=64, shuffle=True),
                                DataLoader(Subset(ds, val_idx), batch_size=256))
                    scores.append(trainer.callback_metrics["val_loss"].item())
            """,
            keras="""
                from sklearn.model_selection import StratifiedKFold

                scores = []
                for tr, va in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(x, y):
                    model = make_model()
                    model.fit(x[tr], y[tr], epochs=50, verbose=0)
                    scores.append(model.evaluate(x[va], y[va], verbose=0))
            """,
            huggingface="""
                from sklearn.model_selection import StratifiedKFold

                for tr, va in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(
                        np.zeros(len(ds)), ds["label"]):
                    trainer = Trainer(model=make_model(), args=args,
                                      train_dataset=ds.select(tr), eval_dataset=ds.select(va))
                    trainer.train()
                    scores.append(trainer.evaluate()["eval_loss"])
            """,
        ),
        (KOHAVI, GOODFELLOW_5),
    ),
    # --- Generalization failures: pipeline, leakage, labels -----------------------------------
    Remedy(
        "check-train-val-pipeline",
        "Make training and validation data go through the same preprocessing",
        _K,
        "Put a training batch and a validation batch side by side: same normalization "
        "statistics, tokenizer, resizing, channel order, feature order and label encoding, "
        "with only augmentation differing. Validation that never improves while training "
        "fits often means the two splits are not presented as the same task.",
        _how(
            pytorch="""
                (xt, yt), (xv, yv) = next(iter(train_loader)), next(iter(val_loader))
                for name, x in (("train", xt), ("val", xv)):
                    x = x.float()
                    print(name, tuple(x.shape), x.dtype, x.mean().item(), x.std().item(),
                          x.min().item(), x.max().item())
                print("labels", yt.unique().tolist(), yv.unique().tolist())  # same encoding?
            """,
            lightning="""
                dm.setup("fit")
                xt, yt = next(iter(dm.train_dataloader()))
                xv, yv = next(iter(dm.val_dataloader()))
                print(xt.float().mean(), xv.float().mean(), yt.unique(), yv.unique())
            """,
            keras="""
                for name, x, y in (("train", x_train, y_train), ("val", x_val, y_val)):
                    print(name, x.shape, x.dtype, x.mean(), x.std(), x.min(), x.max(),
                          np.unique(y))
            """,
            huggingface="""
                train_batch = next(iter(trainer.get_train_dataloader()))
                val_batch = next(iter(trainer.get_eval_dataloader()))
                for batch in (train_batch, val_batch):
                    print(tokenizer.batch_decode(batch["input_ids"][:2]), batch["labels"][:2])
            """,
        ),
        (KARPATHY,),
    ),
    Remedy(
        "check-train-val-overlap",
        "Check what the training and validation splits share",
        _D,
        "Hash the inputs (and compare IDs, patients, users, sessions or time ranges) to find "
        "items shared between splits; shared items make validation reward memorization. "
        "Barz & Denzler found near-duplicates of training images for 3.3% of the CIFAR-10 and "
        "10% of the CIFAR-100 test images.",
        _how(
            pytorch="""
                import hashlib

                def digest(x):
                    return hashlib.sha1(x.numpy().tobytes()).hexdigest()

                train_hashes = {digest(x) for x, _ in train_ds}
                shared = [i for i, (x, _) in enumerate(val_ds) if digest(x) in train_hashes]
                print(f"{len(shared)} of {len(val_ds)} validation examples are also in training")
            """,
            lightning="""
                dm.setup("fit")
                train_hashes = {digest(x) for x, _ in dm.train_ds}  # digest() as for PyTorch
                print(sum(digest(x) in train_hashes for x, _ in dm.val_ds), "shared")
            """,
            keras="""
                import hashlib

                def digest(row):
                    return hashlib.sha1(row.tobytes()).hexdigest()

                train_hashes = {digest(row) for row in x_train}
                shared = sum(digest(row) in train_hashes for row in x_val)
                print(shared, "of", len(x_val), "validation rows also in training")
            """,
            huggingface="""
                shared = set(train_ds["text"]) & set(val_ds["text"])
                print(len(shared), "texts appear in both splits")
            """,
        ),
        (KAUFMAN, BARZ),
    ),
    Remedy(
        "label-randomization-test",
        "Compare with a run on shuffled labels",
        _K,
        "Train a copy of the model on the same inputs with the labels shuffled once: it should "
        "stay at chance on validation and, early on, fit the shuffled labels much more slowly "
        "than real ones (Zhang et al. 2017). If the real-label run learns no faster and "
        "validates no better, the model is not using the input-label relationship: look for "
        "misaligned labels.",
        _how(
            pytorch="""
                g = torch.Generator().manual_seed(0)
                y_shuffled = y_train[torch.randperm(len(y_train), generator=g)]  # fixed once
                shuffled_ds = TensorDataset(x_train, y_shuffled)
                # train make_model() on shuffled_ds exactly like the real run; compare the curves
            """,
            lightning="""
                y_shuffled = y_train[torch.randperm(len(y_train))]
                loader = DataLoader(TensorDataset(x_train, y_shuffled), batch_size=64,
                                    shuffle=True)
                Trainer(max_epochs=20).fit(make_model(), loader, val_loader)
            """,
            keras="""
                y_shuffled = np.random.default_rng(0).permutation(y_train)
                h = make_model().fit(x_train, y_shuffled, validation_data=(x_val, y_val),
                                     epochs=20)
            """,
            huggingface="""
                shuffled = np.random.default_rng(0).permutation(train_ds["label"])
                shuffled_ds = train_ds.remove_columns("label").add_column("label", list(shuffled))
                trainer = Trainer(model=make_model(), args=args, train_dataset=shuffled_ds,
                                  eval_dataset=val_ds)
            """,
        ),
        (ZHANG, KARPATHY),
    ),
    # --- Logging -------------------------------------------------------------------------------
    Remedy(
        "log-validation",
        "Evaluate and log a validation split during training",
        _C,
        "Hold out a validation split (10-20% if none exists), evaluate it every epoch or "
        "every N steps, and log it next to the training loss, so overfitting, the best epoch "
        "and early stopping can be judged; keep a separate test set for the final number.",
        _how(
            pytorch="""
                for epoch in range(epochs):
                    train_loss = train_one_epoch(model, train_loader, optimizer)
                    model.eval()
                    with torch.no_grad():
                        val_loss = sum(criterion(model(x), y).item() for x, y in val_loader)
                    val_loss /= len(val_loader)
                    model.train()
                    print(f"epoch={epoch} train_loss={train_loss:.4f} val_loss={val_loss:.4f}")
            """,
            lightning="""
                def validation_step(self, batch, batch_idx):
                    x, y = batch
                    self.log("val_loss", self.criterion(self(x), y), prog_bar=True)

                trainer.fit(model, train_loader, val_loader)  # pass the validation loader
            """,
            keras="""
                # or validation_split=0.1 to hold out the last 10% of x_train
                model.fit(x_train, y_train, validation_data=(x_val, y_val),
                          epochs=50, callbacks=[keras.callbacks.CSVLogger("history.csv")])
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", eval_strategy="epoch")
                trainer = Trainer(model=model, args=args, train_dataset=train_ds,
                                  eval_dataset=val_ds)
            """,
        ),
        (GOODFELLOW_5, PRECHELT, KARPATHY),
    ),
    Remedy(
        "log-more-often",
        "Log the curves more often",
        _C,
        "Log the training loss every few steps and evaluate at least 5-10 times per run (every "
        "epoch, or every N steps when epochs are long), keeping every value rather than only a "
        "final summary; curve diagnostics need enough points to tell a trend from noise.",
        _how(
            pytorch="""
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter("runs/exp1")
                if step % 20 == 0:
                    writer.add_scalar("train/loss", loss.item(), step)
                if step % eval_every == 0:
                    writer.add_scalar("val/loss", evaluate(model, val_loader), step)
            """,
            lightning="""
                # log every 10 steps and validate 4 times per epoch
                trainer = Trainer(log_every_n_steps=10, val_check_interval=0.25)
            """,
            keras="""
                callbacks = [keras.callbacks.TensorBoard(log_dir="logs", update_freq=20),
                             keras.callbacks.CSVLogger("history.csv")]
                model.fit(x_train, y_train, validation_data=(x_val, y_val), validation_freq=1,
                          epochs=50, callbacks=callbacks)
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", logging_strategy="steps",
                                         logging_steps=20, eval_strategy="steps", eval_steps=200)
            """,
        ),
        (KARPATHY, PLAYBOOK),
    ),
    # --- Remedies for the active model checks -------------------------------------------------
    Remedy(
        "fix-output-activation",
        "Match the output layer to the loss",
        _K,
        "Give losses that apply softmax or sigmoid themselves raw logits (PyTorch "
        "CrossEntropyLoss and BCEWithLogitsLoss, Keras `from_logits=True`), and make the "
        "output range match the targets (no ReLU before a regression output that can be "
        "negative, no softmax before a sigmoid loss); a double or missing squashing function "
        "distorts the loss and its gradients.",
        _how(
            pytorch="""
                logits = model(x)                       # no softmax at the end of forward()
                loss = nn.CrossEntropyLoss()(logits, y)   # applies log-softmax itself
                # binary / multi-label: nn.BCEWithLogitsLoss()(logits, y.float())
                probs = logits.softmax(dim=-1)          # only for reporting
            """,
            lightning="""
                def training_step(self, batch, batch_idx):
                    x, y = batch
                    return nn.functional.cross_entropy(self(x), y)  # self(x) returns logits
            """,
            keras="""
                outputs = keras.layers.Dense(n_classes)(x)  # no activation: logits
                model.compile(optimizer="adam",
                              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
                # or keep activation="softmax" and from_logits=False, never both softmaxes
            """,
            huggingface="""
                # models return logits and pick the loss from problem_type
                model = AutoModelForSequenceClassification.from_pretrained(
                    checkpoint, num_labels=n_labels, problem_type="multi_label_classification"
                )  # BCEWithLogits on float multi-hot labels
            """,
        ),
        (KARPATHY, TORCH_CE, CS231N),
    ),
    Remedy(
        "check-loss-wiring",
        "Check the loss at initialization and what it is computed on",
        _K,
        "Before training, compare the first loss with its expected value (-ln(1/C) for C "
        "balanced classes, e.g. 2.303 for 10) and check what the loss receives: logits or "
        "probabilities, class indices or one-hot targets, shapes, reduction, masking and "
        "ignore_index. A wrong starting value points to a wiring bug.",
        _how(
            pytorch="""
                import math

                model.eval()
                with torch.no_grad():
                    x, y = next(iter(train_loader))
                    out = model(x)
                    print(out.shape, y.shape, y.dtype)  # (N, C) logits and (N,) int64 targets?
                    print(criterion(out, y).item(), "expected about", math.log(n_classes))
            """,
            lightning="""
                trainer = Trainer()
                trainer.validate(model, val_loader)  # before fit: val_loss vs ln(n_classes)
            """,
            keras="""
                import math

                print(model.evaluate(x_train[:1024], y_train[:1024], verbose=0),
                      "expected about", math.log(n_classes))
            """,
            huggingface="""
                import math

                print(trainer.evaluate()["eval_loss"], "expected about", math.log(n_labels))
                trainer.train()
            """,
        ),
        (KARPATHY, CS231N),
    ),
    Remedy(
        "unfreeze-or-connect-parameters",
        "Make sure every parameter receives gradients and is optimized",
        _K,
        "After `loss.backward()`, list parameters whose gradient is None or zero: check "
        "`requires_grad`, that the optimizer was built from `model.parameters()` after the "
        "model was finished (and after any layer was replaced), and that no `.detach()`, "
        "`.item()`, `.numpy()` or `torch.no_grad()` cuts the graph between them and the loss.",
        _how(
            pytorch="""
                optimizer.zero_grad()
                criterion(model(x), y).backward()
                in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
                for name, p in model.named_parameters():
                    if not p.requires_grad:
                        print("frozen:", name)
                    elif p.grad is None or p.grad.abs().sum() == 0:
                        print("no gradient:", name)
                    if id(p) not in in_optimizer:
                        print("not in the optimizer:", name)
            """,
            lightning="""
                class Net(L.LightningModule):
                    def on_after_backward(self):
                        for name, p in self.named_parameters():
                            if p.requires_grad and p.grad is None:
                                print("no gradient:", name)
            """,
            keras="""
                model.summary()  # compare "Trainable params" with "Non-trainable params"
                print([w.path for w in model.weights if not w.trainable])
            """,
            huggingface="""
                trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
                print(trainable, "trainable parameters")
                print([n for n, p in model.named_parameters() if not p.requires_grad][:20])
            """,
        ),
        (KARPATHY, TORCH_AUTOGRAD),
    ),
    Remedy(
        "residual-connections",
        "Add residual (skip) connections",
        _A,
        "Wrap blocks as y = x + f(x), with normalization inside the branch (x + f(Norm(x)) "
        "or x + Norm(f(x)); the Tuning Playbook reports problems with Norm(x + f(x))), so "
        "gradients reach early layers; residual networks train at depths where plain ones "
        "degrade.",
        _how(
            pytorch="""
                class Residual(nn.Module):
                    def __init__(self, dim):
                        super().__init__()
                        self.norm = nn.LayerNorm(dim)
                        self.f = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))

                    def forward(self, x):
                        return x + self.f(self.norm(x))
            """,
            lightning="""
                # same module as in plain PyTorch, stacked inside the LightningModule
                self.blocks = nn.Sequential(*[Residual(256) for _ in range(8)])
            """,
            keras="""
                def residual(x, dim):
                    y = keras.layers.LayerNormalization()(x)
                    y = keras.layers.Dense(dim, activation="gelu")(y)
                    y = keras.layers.Dense(dim)(y)
                    return keras.layers.Add()([x, y])
            """,
        ),
        (HE_RESNET, PLAYBOOK),
    ),
    Remedy(
        "check-custom-backward",
        "Gradient-check custom autograd code",
        _K,
        "Compare the analytic gradients of custom autograd Functions, layers or hand-written "
        "losses with finite differences in float64; CS231n treats a relative error above 1e-2 "
        "as probably wrong and expects far less (about 1e-7) for smooth functions.",
        _how(
            pytorch="""
                from torch.autograd import gradcheck

                layer = MyLayer().double()
                x = torch.randn(4, 8, dtype=torch.double, requires_grad=True)
                assert gradcheck(layer, (x,), eps=1e-6, atol=1e-4)
                # custom torch.autograd.Function: gradcheck(MyFunction.apply, (x,))
            """,
            lightning="""
                # check the LightningModule's custom layer the same way, outside the Trainer
                x = torch.randn(4, 8, dtype=torch.double, requires_grad=True)
                assert torch.autograd.gradcheck(model.my_layer.double(), (x,))
            """,
        ),
        (CS231N, TORCH_AUTOGRAD),
    ),
    Remedy(
        "deduplicate-splits",
        "Deduplicate, then split by group",
        _D,
        "Remove exact (and, for images or text, near-) duplicates before splitting, and split "
        "by the unit that must generalize (patient, user, session, document, time period) so "
        "no group lands in two splits; otherwise validation rewards memorization.",
        _how(
            pytorch="""
                from sklearn.model_selection import GroupShuffleSplit

                df = df.drop_duplicates(subset=feature_columns)
                split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
                train_idx, val_idx = next(split.split(df, groups=df["patient_id"]))
                train_df, val_df = df.iloc[train_idx], df.iloc[val_idx]
            """,
            lightning="""
                # in LightningDataModule.setup(): split by group before building datasets
                train_idx, val_idx = next(GroupShuffleSplit(test_size=0.2, random_state=0)
                                          .split(self.df, groups=self.df["patient_id"]))
            """,
            keras="""
                from sklearn.model_selection import GroupShuffleSplit

                tr, va = next(GroupShuffleSplit(test_size=0.2, random_state=0)
                              .split(x, y, groups=user_ids))
                model.fit(x[tr], y[tr], validation_data=(x[va], y[va]))
            """,
            huggingface="""
                df = ds.to_pandas().drop_duplicates(subset="text")
                ds = Dataset.from_pandas(df, preserve_index=False)
                # then split by a group column as in the PyTorch snippet
            """,
        ),
        (KAUFMAN, BARZ),
    ),
    Remedy(
        "stratified-split",
        "Stratify the split by label",
        _D,
        "Split with stratification on the label so every split keeps the class proportions; "
        "with rare classes a random split can leave validation with few or none of them and "
        "make its metric swing.",
        _how(
            pytorch="""
                from sklearn.model_selection import train_test_split

                train_idx, val_idx = train_test_split(
                    np.arange(len(labels)), test_size=0.2, stratify=labels, random_state=0
                )
                train_ds, val_ds = Subset(ds, train_idx), Subset(ds, val_idx)
            """,
            lightning="""
                # in LightningDataModule.setup()
                train_idx, val_idx = train_test_split(np.arange(len(self.labels)), test_size=0.2,
                                                      stratify=self.labels, random_state=0)
            """,
            keras="""
                from sklearn.model_selection import train_test_split

                x_train, x_val, y_train, y_val = train_test_split(
                    x, y, test_size=0.2, stratify=y, random_state=0
                )
            """,
            huggingface="""
                # the label column must be a ClassLabel feature
                splits = ds.train_test_split(test_size=0.2, stratify_by_column="label", seed=0)
            """,
        ),
        (KOHAVI,),
    ),
    Remedy(
        "class-weighting",
        "Weight or resample rare classes",
        _K,
        "Weight the loss by inverse class frequency or oversample rare classes so the model "
        "cannot ignore them, set the output bias to the class prior, and judge the model with "
        "per-class recall, F1 or AUC rather than accuracy alone.",
        _how(
            pytorch="""
                counts = torch.bincount(y_train).float()
                weights = counts.sum() / (len(counts) * counts)
                criterion = nn.CrossEntropyLoss(weight=weights)
                # or resample: WeightedRandomSampler(weights[y_train], num_samples=len(y_train))
            """,
            lightning="""
                class Net(L.LightningModule):
                    def __init__(self, class_weights):
                        super().__init__()
                        self.register_buffer("class_weights", class_weights)  # moves with the model

                    def training_step(self, batch, batch_idx):
                        x, y = batch
                        return nn.functional.cross_entropy(self(x), y, weight=self.class_weights)
            """,
            keras="""
                from sklearn.utils.class_weight import compute_class_weight

                classes = np.unique(y_train)
                w = compute_class_weight("balanced", classes=classes, y=y_train)
                model.fit(x_train, y_train, class_weight=dict(zip(classes, w)))
            """,
            huggingface="""
                class WeightedTrainer(Trainer):
                    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
                        labels = inputs.pop("labels")
                        outputs = model(**inputs)
                        loss = nn.functional.cross_entropy(
                            outputs.logits, labels, weight=class_weights.to(outputs.logits.device)
                        )
                        return (loss, outputs) if return_outputs else loss
            """,
        ),
        (HE_GARCIA, KARPATHY),
    ),
    Remedy(
        "disable-dropout-in-eval",
        "Evaluate in eval mode",
        _K,
        "Call `model.eval()` before evaluating (and `model.train()` afterwards) and evaluate "
        "under `torch.no_grad()`: in training mode dropout stays active and batch norm uses "
        "batch statistics and updates its running averages, so validation numbers become "
        "noisy and depend on the batch.",
        _how(
            pytorch="""
                model.eval()
                with torch.inference_mode():
                    val_loss = sum(criterion(model(x), y).item() for x, y in val_loader)
                model.train()
            """,
            lightning="""
                # Lightning sets eval mode around validation_step; in your own callbacks:
                def on_train_epoch_end(self, trainer, pl_module):
                    pl_module.eval()
                    with torch.no_grad():
                        ...
                    pl_module.train()
            """,
            keras="""
                # evaluate() and predict() do this; custom loops must pass training=False
                preds = model(x_val, training=False)
            """,
            huggingface="""
                model.eval()  # trainer.evaluate() does this for you; manual loops must too
                with torch.no_grad():
                    outputs = model(**batch)
            """,
        ),
        (SRIVASTAVA, IOFFE, TORCH_EVAL),
    ),
    Remedy(
        "fix-initialization-scale",
        "Fix the scale of the initial weights",
        _K,
        "Re-initialize layers whose weights are far too small or large for their fan-in "
        "(activations shrink or blow up layer by layer) with He or Xavier scaling, and start "
        "the output layer small with its bias at the class prior or target mean so the initial "
        "loss is already sensible.",
        _how(
            pytorch="""
                for m in model.modules():
                    if isinstance(m, nn.Linear):
                        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                        nn.init.zeros_(m.bias)
                out = model.classifier                       # your output layer
                nn.init.normal_(out.weight, std=1e-3)
                with torch.no_grad():
                    out.bias.copy_(torch.log(class_prior))   # softmax(bias) == class prior
            """,
            lightning="""
                # in the LightningModule's __init__, after building the layers
                self.apply(init_weights)  # init_weights as in the PyTorch snippet
            """,
            keras="""
                # binary output starting at the positive rate: bias = log(pos / neg)
                bias = keras.initializers.Constant(np.log(pos / neg))
                out = keras.layers.Dense(1, activation="sigmoid", bias_initializer=bias)
            """,
        ),
        (GLOROT, HE_INIT, KARPATHY),
    ),
    Remedy(
        "label-smoothing",
        "Use label smoothing",
        _C,
        "Train against softened targets (epsilon about 0.1: the true class gets "
        "1 - epsilon + epsilon/K and every other class epsilon/K) so the model stops pushing "
        "logits to extremes; it regularizes over-confident classifiers, and the Tuning "
        "Playbook lists it with dropout and weight decay.",
        _how(
            pytorch="""
                criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
            """,
            lightning="""
                loss = nn.functional.cross_entropy(self(x), y, label_smoothing=0.1)
            """,
            keras="""
                # needs one-hot labels: SparseCategoricalCrossentropy has no label_smoothing
                model.compile(optimizer="adam",
                              loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", label_smoothing_factor=0.1)
            """,
        ),
        (SZEGEDY, PLAYBOOK),
    ),
    Remedy(
        "regularize-high-capacity",
        "Regularize a model that can memorize its training set",
        _C,
        "A network that can fit random labels will also fit the noise in real ones: combine "
        "weight decay, dropout, augmentation and early stopping, or shrink the model, and "
        "judge it on held-out data. Zhang et al. (2017) found explicit regularization helps "
        "but does not by itself prevent memorization.",
        _how(
            pytorch="""
                model = make_model(dropout=0.3)
                optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.05)
                # plus augmentation on the training set and early stopping on val_loss
            """,
            lightning="""
                trainer = Trainer(callbacks=[EarlyStopping(monitor="val_loss", patience=5),
                                             ModelCheckpoint(monitor="val_loss", save_top_k=1)])
                # with dropout in the module and AdamW(weight_decay=0.05) in configure_optimizers
            """,
            keras="""
                optimizer = keras.optimizers.AdamW(learning_rate=3e-4, weight_decay=0.05)
                model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
                model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=100,
                          callbacks=[keras.callbacks.EarlyStopping(
                              monitor="val_loss", patience=5, restore_best_weights=True)])
            """,
            huggingface="""
                args = TrainingArguments(output_dir="out", weight_decay=0.05,
                                         label_smoothing_factor=0.1, eval_strategy="epoch",
                                         save_strategy="epoch", load_best_model_at_end=True)
            """,
        ),
        (ZHANG, GOODFELLOW_7, KARPATHY),
    ),
)

_BY_ID = {r.id: r for r in REMEDIES}


def remedy(remedy_id: str) -> Remedy:
    """The remedy with this id; KeyError if unknown."""
    return _BY_ID[remedy_id.strip()]


def all_remedies() -> tuple[Remedy, ...]:
    return REMEDIES
