"""The GPU training run shared by train_sudoku.py and train_arc.py: command-line options of the optimiser and the run,
held-out evaluation, torch.compile of the blocks, and the loop itself (deep supervision with the ACT carry, step-count
timing for --minutes, progress lines, periodic evaluation and atomic saves of the EMA weights in trm's format)."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trm_torch import ACT, IGNORE, Inner, Trainer, act_loss, save_safetensors  # noqa: E402


def add_run_args(ap, lr, warmup, eval_every):
    """Options of the optimiser and the run; the domain scripts add their data and architecture options."""
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--batch", type=int, default=768)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--puzzle-emb-lr", type=float, default=1e-2)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--puzzle-emb-weight-decay", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=warmup)
    ap.add_argument("--min-ratio", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--save-every", type=float, default=60, help="seconds")
    ap.add_argument("--eval-every", type=float, default=eval_every, help="seconds")
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)


def setup(args):
    """-> device, data generator. Checks that exactly one of --steps and --minutes was given."""
    if (args.steps > 0) == (args.minutes > 0):
        sys.exit("give exactly one of --steps and --minutes")
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    return dev, gen


@torch.no_grad()
def evaluate(model, c, inputs, labels, ids, batch):
    """Exact accuracy per example (every scored cell right) with all steps, and at the first q_halt > 0 (the last
    step if never); -> (all steps, at model halt, mean steps used)."""
    model.eval()
    n, all_ok, halt_ok, used_sum = inputs.shape[0], 0, 0, 0
    for s in range(0, n, batch):
        x, y, i = inputs[s:s + batch], labels[s:s + batch], ids[s:s + batch]
        b = x.shape[0]
        act = ACT(model, b, model.rows, c["hidden_size"], x.device)
        done = torch.zeros(b, dtype=torch.bool, device=x.device)
        ok_halt = torch.zeros_like(done)
        used = torch.zeros(b, dtype=torch.long, device=x.device)
        for step in range(c["halt_max_steps"]):
            logits, q_halt, _ = act.step({"inputs": x, "ids": i}, training=False)
            ok = ((logits.argmax(-1) == y) | (y == IGNORE)).all(-1)
            stop = ~done & ((q_halt > 0) | (step == c["halt_max_steps"] - 1))
            ok_halt |= stop & ok
            used += stop * (step + 1)
            done |= stop
        all_ok += ok.sum().item()
        halt_ok += ok_halt.sum().item()
        used_sum += used.sum().item()
    model.train()
    return all_ok / max(1, n), halt_ok / max(1, n), used_sum / max(1, n)


def compile_blocks(model, batch, autocast, t0):
    """torch.compile each block's forward (state_dict keys stay the official ones); eager when that fails."""
    layers = list(model.L_level.layers)
    cs = (model.rope_cos, model.rope_sin) if hasattr(model, "rope_cos") else None
    try:
        torch._dynamo.config.suppress_errors = True
        for layer in layers:
            layer.forward = torch.compile(layer.forward)
        x = torch.randn(batch, model.rows, model.c["hidden_size"], device=model.H_init.device, requires_grad=True)
        with autocast:
            layers[0](x, cs).float().sum().backward()
            with torch.no_grad():
                layers[0](x, cs)
        model.zero_grad(set_to_none=True)
        print(f"torch.compile: blocks compiled ({time.time() - t0:.0f} s)", flush=True)
    except Exception as e:  # an old torch or no compiler: run eager
        for layer in layers:
            layer.__dict__.pop("forward", None)
        model.zero_grad(set_to_none=True)
        print(f"torch.compile unavailable ({type(e).__name__}: {e}); eager", flush=True)


def train(args, c, dev, draw, val, trainer_name, t0, log_every, init=None, init_from=""):
    """The run. draw(batch) -> {"inputs", "labels", "ids"} on the device; val = (inputs, labels, ids) held out, or
    None; init = a state dict to start from (init_from: its file, recorded in the output as trm records it). Saves
    the EMA weights to args.out every --save-every seconds and at the end."""
    model = Inner(c)
    if init is not None:
        model.load_state_dict(init)
    model = model.to(dev)
    print(f"model: hidden {c['hidden_size']}, {'mlp_t' if c['mlp_t'] else 'attention'}, H{c['H_cycles']} "
          f"L{c['L_cycles']}, {c['L_layers']} layers, halt {c['halt_max_steps']}, "
          f"{sum(p.numel() for n, p in model.named_parameters() if not n.startswith('puzzle_emb')):,} parameters",
          flush=True)
    autocast = torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=bool(args.bf16) and dev == "cuda")
    if args.compile and dev == "cuda":
        compile_blocks(model, args.batch, autocast, t0)
    ev_model = Inner(c).to(dev)  # evaluation copy (uncompiled) that takes the EMA weights
    recipe = {k: v for k, v in vars(args).items() if k not in ("out", "save_every", "eval_every", "compile")}
    total = args.steps if args.steps else 10 ** 9
    trainer = Trainer(model, args.lr, args.weight_decay, args.puzzle_emb_lr, args.puzzle_emb_weight_decay,
                      args.warmup, total, args.min_ratio)
    act = ACT(model, args.batch, model.rows, c["hidden_size"], dev)
    step = 0

    def save():
        sd = {"inner." + k: v for k, v in trainer.ema_state().items()}
        options = dict(recipe, trainer=trainer_name, steps=step)
        meta = {"format": "trm/1", "trm_config": json.dumps(dict(c, forward_dtype="float32")),
                "training_data": json.dumps([{"from_step": 0, "options": options}])}
        if init_from:
            meta["init_from"] = init_from
        tmp = args.out + ".tmp"
        save_safetensors(tmp, sd, meta)
        os.replace(tmp, args.out)

    def held_out(label):
        if val is None:
            return
        ev_model.load_state_dict(trainer.ema_state())
        all_ok, halt_ok, used = evaluate(ev_model, c, *val, 1024)
        print(f"{label} step {step}: held-out exact all steps {all_ok:.4f}, at model halt {halt_ok:.4f} "
              f"({used:.2f} steps); {time.time() - t0:.0f} s", flush=True)

    t_start = time.time()
    last_save = last_eval = t_start
    run_loss = run_acc = 0.0
    run_n = 0
    t_mark = None
    while step < total:
        with autocast:
            logits, q_halt, _ = act.step(draw(args.batch), training=True)
        loss, lm_loss, _, seq_ok = act_loss(logits.float(), q_halt, act.data["labels"])
        (loss / args.batch).backward()
        trainer.step(step)
        step += 1
        with torch.no_grad():  # accumulated on the device: no synchronisation per step
            halted = act.halted
            run_loss = run_loss + lm_loss.detach() / args.batch
            run_acc = run_acc + (seq_ok & halted).sum() / halted.sum().clamp_min(1)
            run_n += 1
        if args.minutes and step in (20, 60):  # time steps 20-60 (after compilation), then fix the step count
            if dev == "cuda":
                torch.cuda.synchronize()
            if step == 20:
                t_mark = time.time()
            else:
                per_step = (time.time() - t_mark) / 40
                left = args.minutes * 60 - (time.time() - t0) - 30  # 30 s for the final evaluation and save
                total = 60 + int(left / per_step * 0.95)
                trainer.total = total
                print(f"timing: {per_step * 1000:.1f} ms per step -> --steps {total}", flush=True)
        now = time.time()
        if step % log_every == 0:
            lr = args.lr * trainer.schedule(step)
            print(f"step {step}/{total} lm_loss {float(run_loss) / run_n:.4f} exact(halted) {float(run_acc) / run_n:.3f} "
                  f"lr {lr:.2e} {step * args.batch / (now - t_start):.0f} ex-steps/s {now - t0:.0f} s", flush=True)
            run_loss = run_acc = 0.0
            run_n = 0
        if now - last_eval > args.eval_every:
            held_out("eval")
            last_eval = time.time()
        if now - last_save > args.save_every:
            save()
            last_save = time.time()
    save()
    held_out("final")
