"""Cost models of the Cocktail formulation (NSDI '22: ensembles on spot VMs).

* :mod:`cost_models.cocktail.zoo`: the 12 Keras ImageNet models Cocktail serves, with
  published top-1 accuracy, parameters and multiply-adds, and their per-request latency and
  throughput on each cloud instance type (roofline model; CPU instances scale ``CPU16``);
* :mod:`cost_models.cocktail.accuracy`: correctness matrices (seeded Monte-Carlo or
  user-supplied), vote accuracy of model subsets, and subset enumeration with exact pruning;
* :mod:`cost_models.cocktail.spot`: spot interruption probabilities from Spot Advisor bands.

Never imports a solver.
"""
