"""Weights trained for one neuron, run on another's: the chip trained off-line for ideal
devices and written into devices with a threshold spread."""

from dataclasses import replace

from dwlab.snn import data, neuron, train


def test_trained_weights_run_on_other_neurons_lose_accuracy_to_a_large_spread():
    digits = data.load("digits")
    ideal = neuron.table1()
    config = train.TrainConfig(epochs=3, steps=6, seed=0)
    result = train.train(digits, config, ideal,
                         deploy=[ideal, replace(ideal, sigma_pct=60.0)])
    same, spread = result.deployed
    assert result.final.test_acc_pct > 70  # it learned (chance: 10 %)
    # the same neuron: the trained accuracy again, up to the Poisson draws of the inputs
    assert abs(same - result.final.test_acc_pct) < 5
    # σ of the swing 60 % x 214/54 = 2.4: the thresholds are mostly noise
    assert spread < same - 20


def test_deploying_leaves_the_training_as_it_was():
    digits = data.load("digits")
    config = train.TrainConfig(epochs=1, steps=4, seed=1)
    plain = train.train(digits, config, neuron.table1())
    deployed = train.train(digits, config, neuron.table1(),
                           deploy=[replace(neuron.table1(), sigma_pct=10.0)])
    assert deployed.epochs[0].test_acc_pct == plain.epochs[0].test_acc_pct
    assert (deployed.confusion == plain.confusion).all() and len(deployed.deployed) == 1
