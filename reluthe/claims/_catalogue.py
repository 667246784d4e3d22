"""The article's claims as listed in CLAIMS.md: ids, sections, quotes, what each needs.

Ids are stable: never renumber; add new ones at the end.
"""

from __future__ import annotations

# (id, section, quote, English statement, what must be measured or derived)
CATALOGUE: tuple[tuple[str, str, str, str, str], ...] = (
    ("C01", "2.1", "f(x) = max(0, x); x>0 → x, x≤0 → 0",
     "ReLU is f(x) = max(0, x): x for x > 0 and 0 for x ≤ 0.",
     "symbolic definition equals the piecewise form; torch's relu agrees on a grid incl. 0, ±0.0, "
     "±inf, nan"),
    ("C02", "2.1", "这种简单的非线性变换,使得神经网络能够学习到复杂的非线性映射关系",
     "This simple nonlinearity lets neural networks learn complex nonlinear mappings.",
     "expressivity: region counts grow with width/depth (theory bounds vs exact counts); a ReLU "
     "MLP fits a nonlinear target a linear model cannot"),
    ("C03", "2.2.1", "部分神经元会被完全激活,而部分神经元则保持非激活状态",
     "During training some neurons are active while others stay inactive (sparse activation).",
     "per-layer fraction of exactly-zero activations at init and after training; dead units"),
    ("C04", "2.2.1", "这种稀疏激活特性有利于提高模型的泛化性能",
     "Sparse activation improves generalization.",
     "across interventions that change sparsity, the relation of sparsity to test accuracy and "
     "train–test gap, with confidence intervals"),
    ("C05", "2.2.2", "导数恒为1 … 梯度可以被完全传递到前一层,避免了梯度消失",
     "ReLU's derivative is 1 for positive inputs, so gradients pass fully to the previous layer "
     "and vanishing gradients are avoided.",
     "per-layer gradient norms vs depth for relu/sigmoid/tanh (default and He/Xavier init); share "
     "of units that pass zero gradient"),
    ("C06", "2.2.3", "计算只需要简单的max操作 … 计算效率更高",
     "ReLU needs only a max operation, so it is computationally cheaper than sigmoid or tanh.",
     "forward+backward cost of each activation alone and inside a training step, as ratios"),
    ("C07", "2.2.4", "类似于生物神经元的激活机制",
     "ReLU resembles the activation mechanism of biological neurons.",
     "not testable here: say why, and what differs"),
    ("C08", "2.3.1", "稀疏激活 … 学习到输入数据中的显著特征",
     "Sparse activation lets the network learn the salient features of the input.",
     "feature quality (linear-probe accuracy of hidden layers on held-out data) against sparsity"),
    ("C09", "2.3.2", "恒定的梯度 … 深层网络中的有效传播 … 更加复杂的特征表示",
     "ReLU's constant gradient propagates well through deep networks, so deep models can learn.",
     "trainability vs depth for relu vs saturating activations; born-dead / dying-unit rate vs "
     "depth"),
    ("C10", "2.3.3", "简单计算 … 在有限的计算资源下取得更好的泛化性能",
     "Because ReLU is cheap, models generalize better under limited compute.",
     "test accuracy at a matched wall-clock or step budget across activations"),
    ("C11", "2.3", "ReLU … 对模型的泛化能力产生了积极的影响",
     "ReLU has a positive effect on generalization.",
     "test accuracy and generalization gap of relu vs ≥6 other activations on ≥2 real datasets, "
     "≥5 seeds, with CIs"),
    ("C12", "3.1", "分段线性函数 … 两个子区间",
     "ReLU is piecewise linear with two pieces.",
     "symbolic: exactly two affine pieces, continuous at 0"),
    ("C13", "3.1", "分段线性特性 … 有效地捕捉输入数据中的非线性特征",
     "Piecewise linearity lets ReLU networks capture the nonlinear structure of the data.",
     "linear regions of trained nets: counts, where they concentrate, change during training"),
    ("C14", "3.2", "f'(x) = 1 if x ≥ 0, 0 if x < 0",
     "ReLU's derivative is 1 for x ≥ 0 and 0 for x < 0.",
     "symbolic: not differentiable at 0 (one-sided derivatives 0 and 1, subdifferential [0,1]); "
     "what torch autograd returns at 0"),
    ("C15", "3.2", "这种恒定的导数特性 … 避免了梯度消失",
     "The constant derivative avoids vanishing gradients.",
     "symbolic bound: product of sup|f'| over L layers, checked against measured norms from C05"),
    ("C16", "3.3", "z = Wx + b, a = max(0, z)",
     "A ReLU layer computes z = Wx + b, then a = max(0, z).",
     "a ReLU layer in torch computes exactly this"),
    ("C17", "4", "MyModel 100-64-32-10 and its three stated purposes",
     "The article's MyModel (100-64-32-10 with ReLU) introduces nonlinearity, sparse activation "
     "and good gradient flow.",
     "the article's own model, run through C03/C05/C13 probes"),
    ("C18", "5.1", "CNN: ReLU 有效地提升了模型在图像分类 … 上的性能",
     "In CNNs, ReLU improves image-classification performance.",
     "small CNN on real images, relu vs other activations"),
    ("C19", "5.2", "RNN: ReLU … 取得了不错的效果",
     "In RNNs, ReLU gives good results.",
     "vanilla RNN with relu vs tanh on a sequence task, with and without identity init"),
    ("C20", "5.3", "GAN: ReLU … 有助于提高生成样本的质量",
     "In GANs, ReLU improves the quality of generated samples.",
     "small GAN on a known 2-D mixture: mode coverage and sample quality, relu vs leaky relu"),
    ("C21", "5.4", "自编码器: ReLU … 增强了模型的非线性表达能力",
     "In autoencoders, ReLU strengthens nonlinear expressive power.",
     "autoencoder reconstruction error, relu vs linear vs tanh at equal size"),
    ("C22", "8 Q2", "formulas of sigmoid, tanh, Leaky ReLU, ELU",
     "The article's formulas for sigmoid, tanh, Leaky ReLU and ELU are correct.",
     "symbolic: each formula, its derivative, range, saturation, sup|f'|; agreement with torch"),
    ("C23", "8 Q3", "数据增强, 正则化, 迁移学习, 集成学习 improve generalization",
     "Data augmentation, regularization, transfer learning and ensembling improve generalization.",
     "effect size of each on one shared task, next to the effect size of the activation choice"),
    ("C24", "end", "为什么要将ReLU函数应用于隐藏层",
     "ReLU belongs in hidden layers, not on the output layer.",
     "relu on the output layer vs none: classification and regression with negative targets"),
)


def claim_table(files: dict[str, str] | None = None) -> str:
    """The catalogue as a Markdown page (``docs/claims.md``): id, §, quote, claim, what is measured.

    ``files`` maps claim ids to the file that checks them (``reluthe/claims/<family>/cNN_….py``);
    ``python -m reluthe.claims`` prints the page for the installed registry.

    Examples
    --------
    >>> claim_table().splitlines()[0]
    '# The claims checked'
    """
    files = files or {}
    lines = ["# The claims checked", "",
             "Every checkable statement of the article has a stable id. `python -m "
             "reluthe.check_claims` gives each one verdict (see the [report](report.md)); this "
             "table is generated from `reluthe/claims/_catalogue.py` by `python -m "
             "reluthe.claims`.", "",
             "| id | § | the article says | claim | what is measured or derived | checked in |",
             "|---|---|---|---|---|---|"]
    for cid, section, quote, statement, needs in CATALOGUE:
        where = f"`{files[cid]}`" if cid in files else "not implemented"
        cells = (cid, section, quote, statement, needs, where)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
