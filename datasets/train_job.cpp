#include "datasets/train_job.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/parallel.hpp"
#include "core/model_io.hpp"
#include "core/ops.hpp"
#include "core/safetensors.hpp"
#include "datasets/sources.hpp"
#include "datasets/split.hpp"
#include "core/loss.hpp"

namespace trm {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void apply_domain(Config& c, const Domain& d, int grid) {
    c.domain = d.name();
    d.configure_model(c, grid);
}

// The config of a new run: the options' architecture with the kind's fields; a kind of tasks (ARC) builds its data
// here (into src) because the puzzle identifiers come from it.
static Config new_run_config(const TrainJobOptions& o, std::unique_ptr<TrainingSource>& src) {
    Config c = o.model;
    const int grid = o.grid > 0 ? o.grid : o.domain->default_grid();
    apply_domain(c, *o.domain, grid);
    if (o.domain->has_tasks()) {  // one puzzle identifier per task and augmentation
        src = make_training_source(*o.domain, o.data, grid, 0);
        c.identifiers = src->identifiers();
        c.num_puzzle_identifiers = int(c.identifiers.size());
    }
    c.validate();
    return c;
}

void export_arc_data(const TrainJobOptions& o, const std::string& path) {
    std::unique_ptr<TrainingSource> src;
    const Config c = new_run_config(o, src);
    const auto* arc = dynamic_cast<const ArcSource*>(src.get());
    if (!arc) fail("only ARC training data can be exported, not {}", o.domain->kinds());
    const ArcSplits& s = arc->splits;
    TensorFile f;
    for (auto [name, d] : {std::pair<const char*, const ArcDataset*>{"train", &s.train}, {"test", &s.test}}) {
        const int64_t n = int64_t(d->size()), S = d->seq_len();
        if (n == 0) continue;
        f.tensors[std::string(name) + ".inputs"] = Tensor::from_i32({n, S}, d->inputs.data());
        f.tensors[std::string(name) + ".labels"] = Tensor::from_i32({n, S}, d->labels.data());
        f.tensors[std::string(name) + ".puzzle_identifiers"] = Tensor::from_i32({n}, d->puzzle_ids.data());
    }
    f.metadata["format"] = "trm-arc-data/1";
    f.metadata["trm_config"] = config_to_json(c).dump();
    write_safetensors(path, f);
}

std::string kept_weights_path(const std::string& out, int64_t step) {
    const std::string ext = ".safetensors";
    const bool has_ext = out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0;
    return fmt::format("{}-step{}{}", has_ext ? out.substr(0, out.size() - ext.size()) : out, step, ext);
}

void run_training(const TrainJobOptions& o, int report_every, const std::function<void(const TrainProgress&)>& on_progress,
                  const std::atomic<bool>& stop) {
    if (o.out.empty()) throw Error("training needs a weights file to write", "pass -o FILE.safetensors");
    const std::string state = o.state.empty() ? o.out + ".state" : o.state;
    // a resumed run writes over its own weights; a new one only over a file it was told it may replace
    check_output_path(o.out, o.resume || o.force, "weights file");
    check_output_path(state, true, "training state");
    if (o.threads > 0) set_threads(o.threads);  // trm's workers and OpenBLAS's, both
    std::unique_ptr<Trainer> t;
    std::unique_ptr<TrainingSource> src;
    if (o.resume) {
        t = Trainer::load_state(state);
    } else {
        if (std::filesystem::exists(state))
            throw Error(fmt::format("{}: a training state already exists", state),
                        "pass --resume to continue it, or remove it to start over");
        Model m(new_run_config(o, src));
        init_weights(m, o.train.seed);
        if (!o.init_from.empty()) {
            const Model from = load_model(o.init_from);
            if (from.cfg().pos_encodings != m.cfg().pos_encodings)
                fail("{}: pos_encodings {}, this run has {}", o.init_from, pos_encoding_name(from.cfg().pos_encodings),
                     pos_encoding_name(m.cfg().pos_encodings));
            copy_matching_weights(from, m, o.init_from);
        }
        TrainOptions to = o.train;
        to.optim.total_steps = o.cosine_steps > 0 ? o.cosine_steps : o.steps;
        t = std::make_unique<Trainer>(std::move(m), to);
        if (!o.init_from.empty()) t->notes["init_from"] = o.init_from;  // provenance, kept in the weights' metadata
    }
    const Config& c = t->model.cfg();
    const int grid = model_grid_side(c);
    if (!src) src = make_training_source(*o.domain, o.data, grid, t->opt.seed + kTrainSeedBase);
    if (const auto ids = src->identifiers(); !ids.empty() && int(ids.size()) != c.num_puzzle_identifiers)
        fail("{}: the data gives {} puzzle identifiers, the model has {}", state, ids.size(), c.num_puzzle_identifiers);
    // held-out: generated data from another seed stream (never used in training); file data: more draws
    // (augmented); ARC: the test pairs of the evaluation tasks
    const EvalSet ev = src->held_out(o.eval_count, c.seq_len, t->opt.seed);

    std::FILE* log = nullptr;
    if (!o.log.empty()) {
        log = std::fopen(o.log.c_str(), "a");
        if (!log) fail("{}: cannot open the metrics log", o.log);
    }
    // Provenance: the data options of each stretch of the run (they are flags, not part of the state's
    // semantics, so a resumed run may change them); kept in the state and written into the weights' metadata.
    {
        json data = {{"domain", o.domain->name()}};
        if (!o.data.data_file.empty()) data["data_file"] = o.data.data_file;
        for (auto& [k, v] : src->provenance.items()) data[k] = v;
        json history = json::array();
        if (auto it = t->notes.find("data"); it != t->notes.end()) {
            try {
                history = json::parse(it->second);
            } catch (const json::exception&) {
                history = json::array();
            }
        }
        if (!history.is_array()) history = json::array();
        if (history.empty() || history.back().value("options", json()) != data)
            history.push_back({{"from_step", t->step}, {"options", data}});
        t->notes["data"] = history.dump();
    }
    auto weights_meta = [&] {
        std::map<std::string, std::string> meta{{"training_data", t->notes["data"]}};
        if (auto it = t->notes.find("init_from"); it != t->notes.end()) meta["init_from"] = it->second;
        return meta;
    };
    auto save = [&] {
        t->save_state(state);
        save_model(o.out, t->export_model(), weights_meta());
    };
    const auto t0 = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    TrainProgress acc;
    int n_int = 0, rows = 0;
    uint64_t cursor0 = t->cursor;
    auto t_int = Clock::now();
    while (t->step < o.steps && !stop.load()) {
        StepMetrics m = t->train_step(*src);
        n_int++;
        const int B = t->opt.batch_size;
        acc.loss += m.loss / B; acc.lm_loss += m.lm_loss / B; acc.q_halt_loss += m.q_halt_loss / B;
        acc.exact += m.exact; acc.accuracy += m.accuracy; acc.q_halt_acc += m.q_halt_correct; acc.mean_steps += m.steps;
        rows += m.count;
        const bool do_eval = ev.n > 0 && ((o.eval_every > 0 && t->step % o.eval_every == 0) || t->step == o.steps);
        const bool do_save = t->step % o.save_every == 0;
        const bool out_of_time = o.time_limit_min > 0 && elapsed() > o.time_limit_min * 60;
        if (t->step % report_every == 0 || do_eval || out_of_time) {
            TrainProgress p;
            const double dt = std::chrono::duration<double>(Clock::now() - t_int).count();
            p.step = t->step; p.total = o.steps;
            p.loss = acc.loss / n_int; p.lm_loss = acc.lm_loss / n_int; p.q_halt_loss = acc.q_halt_loss / n_int;
            if (rows) { p.exact = acc.exact / rows; p.accuracy = acc.accuracy / rows; p.q_halt_acc = acc.q_halt_acc / rows; p.mean_steps = acc.mean_steps / rows; }
            p.examples_per_s = double(t->cursor - cursor0) / dt;
            p.example_steps_per_s = double(n_int) * B / dt;
            p.lr = t->current_lr();
            p.elapsed_s = elapsed();
            if (do_eval) {  // minutes for a large held-out set: say so before, not only after
                TrainProgress before = p;
                before.evaluating = ev.n;
                on_progress(before);
            }
            if (do_eval) p.eval = evaluate(t->export_model(), ev.tokens.data(), ev.labels.data(), ev.ids.data(), ev.n, 64);
            if (do_save || do_eval || out_of_time) { save(); p.saved = true; }
            on_progress(p);
            if (log) {
                json j{{"step", p.step}, {"loss", p.loss}, {"lm_loss", p.lm_loss}, {"q_halt_loss", p.q_halt_loss},
                       {"train_exact", p.exact}, {"train_acc", p.accuracy}, {"q_halt_acc", p.q_halt_acc},
                       {"mean_steps", p.mean_steps}, {"example_steps_per_s", p.example_steps_per_s}, {"lr", p.lr},
                       {"elapsed_s", p.elapsed_s}};
                if (p.eval) j["eval"] = {{"n", p.eval->n}, {"exact", double(p.eval->exact) / p.eval->n},
                                         {"cell_acc", p.eval->cell_acc},
                                         {"exact_model_halt", double(p.eval->exact_model_halt) / p.eval->n},
                                         {"mean_halt_steps", p.eval->mean_halt_steps},
                                         {"q_halt_agree", double(p.eval->q_halt_agree) / p.eval->n}};
                std::fprintf(log, "%s\n", j.dump().c_str());
                std::fflush(log);
            }
            acc = TrainProgress{}; n_int = 0; rows = 0; cursor0 = t->cursor; t_int = Clock::now();
        } else if (do_save) {
            save();
        }
        // the weights along the way, for curves measured afterwards (trm eval at other sizes than training's)
        if (o.keep_every > 0 && t->step % o.keep_every == 0)
            save_model(kept_weights_path(o.out, t->step), t->export_model(), weights_meta());
        if (out_of_time) break;
    }
    save();
    if (log) std::fclose(log);
}

}  // namespace trm
