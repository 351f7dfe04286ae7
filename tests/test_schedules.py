"""Who trains next: the v0 strike rule on scripted losses, kstep and alternate order."""
from paddle_gan.schedules import D_STEP, G_STEP, Alternate, KStep, Strike


def trained(schedule, losses):
    return "".join("D" if schedule.steps(d, g) == D_STEP else "G" for d, g in losses)


def test_strike_trains_the_network_with_the_larger_loss():
    assert trained(Strike(), [(0.9, 0.5), (0.4, 0.7), (0.8, 0.6)]) == "DGD"


def test_strike_ties_go_to_g():
    assert trained(Strike(), [(0.7, 0.7)]) == "G"


def test_strike_caps_a_run_at_max_strike():
    assert trained(Strike(5), [(1.0, 0.1)] * 12) == "DDDDDGDDDDDG"
    assert trained(Strike(5), [(0.1, 1.0)] * 12) == "GGGGGDGGGGGD"
    assert trained(Strike(2), [(1.0, 0.1)] * 6) == "DDGDDG"


def test_strike_counter_restarts_when_the_other_network_trains():
    losses = [(1.0, 0.1)] * 4 + [(0.1, 1.0)] + [(1.0, 0.1)] * 6
    assert trained(Strike(5), losses) == "DDDDGDDDDDG"


def test_strike_d_step_is_fake_then_real():
    assert Strike().steps(1.0, 0.0) == ("d_fake", "d_real")
    assert Strike().steps(0.0, 1.0) == G_STEP == ("g",)


def test_alternate_is_d_fake_d_real_g_every_iteration():
    schedule = Alternate()
    assert [schedule.steps() for _ in range(3)] == [("d_fake", "d_real", "g")] * 3
    assert not schedule.needs_losses


def test_kstep_cycles_k_d_steps_then_n_g_steps():
    schedule = KStep(d_steps=2, g_steps=3)
    order = "".join("D" if schedule.steps() == D_STEP else "G" for _ in range(10))
    assert order == "DDGGGDDGGG"
    default = KStep()
    assert "".join("D" if default.steps() == D_STEP else "G" for _ in range(4)) == "DGDG"


def test_restored_schedules_continue_where_they_stopped():
    losses = [(1.0, 0.1)] * 12
    for make in (lambda: Strike(3), lambda: KStep(2, 3), Alternate):
        straight = trained(make(), losses)
        first = make()
        head = trained(first, losses[:2])
        resumed = make()
        resumed.restore(first.state())
        assert head + trained(resumed, losses[2:]) == straight
        if make is not Alternate:  # the stateful ones would go wrong without their state
            assert head + trained(make(), losses[2:]) != straight
