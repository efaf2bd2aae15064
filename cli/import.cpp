// `trm import CHECKPOINT -o OUT.safetensors`: convert an official step_N checkpoint (torch.save zip) into trm's
// native safetensors, keeping the official state_dict names so the file also loads into the PyTorch model.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/model_io.hpp"
#include "puzzles/domain.hpp"

namespace trm::cli {

struct ImportOptions {
    std::string checkpoint, config, dataset, identifiers, out, domain;
    int seq_len = -1, vocab_size = -1, num_ids = -1;
};

static int run_import(const ImportOptions& o) {
    LoadOptions lo;
    lo.config_yaml = o.config;
    lo.dataset_json = o.dataset;
    lo.seq_len = o.seq_len;
    lo.vocab_size = o.vocab_size;
    lo.num_puzzle_identifiers = o.num_ids;
    Model m = load_model(o.checkpoint, lo);
    Config c = m.cfg();
    if (!o.domain.empty()) c.domain = o.domain;
    else if (c.domain.empty()) {
        // the first kind whose model shape it has (the official datasets' shapes: Sudoku 81 cells of 11 tokens;
        // mazes and ARC on square canvases with 6 and 12 tokens, as their builders write them)
        for (const Domain* d : domains())
            if (d->model_mismatch(c).empty()) {
                c.domain = d->name();
                break;
            }
        if (!c.domain.empty())
            fmt::print(stderr, "domain: {} (from seq_len {} and vocab_size {}; --domain overrides)\n", c.domain,
                       c.seq_len, c.vocab_size);
    }
    if (!o.identifiers.empty()) {
        // official identifiers.json: a JSON list, index = puzzle identifier, "<blank>" at 0
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(read_file_text(o.identifiers, 1u << 30));
        } catch (const nlohmann::json::exception& e) {
            fail("{}: not valid JSON: {}", o.identifiers, e.what());
        }
        if (!j.is_array()) fail("{}: expected a JSON list of identifier names", o.identifiers);
        if (int(j.size()) != c.num_puzzle_identifiers)
            fail("{}: {} names, but the model has {} puzzle identifiers", o.identifiers, j.size(), c.num_puzzle_identifiers);
        c.identifiers.clear();
        for (auto& n : j) c.identifiers.push_back(n.is_string() ? n.get<std::string>() : n.dump());
    }
    Model out(c);
    out.arena = m.arena;
    save_model(o.out, out);
    fmt::print(stderr, "imported {} -> {} ({} tensors)\n", o.checkpoint, o.out, out.layout.table.size());
    return kExitOk;
}

void register_import(CLI::App& app) {
    auto o = std::make_shared<ImportOptions>();
    auto* sub = app.add_subcommand("import", "Convert an official TRM checkpoint to trm's safetensors format");
    sub->add_option("checkpoint", o->checkpoint, "official step_N file (torch.save zip)")->required();
    sub->add_option("-o,--out", o->out, "output .safetensors")->required();
    sub->add_option("--config", o->config, "all_config.yaml (default: beside the checkpoint)");
    sub->add_option("--dataset", o->dataset, "dataset.json for seq_len / vocab_size / num_puzzle_identifiers");
    sub->add_option("--identifiers", o->identifiers, "identifiers.json: names of the puzzle identifiers (ARC)");
    sub->add_option("--domain", o->domain, domain_names(" | ") + " (recorded in the model)");
    sub->add_option("--seq-len", o->seq_len, "override seq_len");
    sub->add_option("--vocab-size", o->vocab_size, "override vocab_size");
    sub->add_option("--num-puzzle-identifiers", o->num_ids, "override num_puzzle_identifiers");
    sub->footer("Examples:\n"
                "  trm import tests/data/official-trm/arc_att/step_100 --domain arc -o arc.safetensors\n"
                "  trm import checkpoints/run/step_52080 --identifiers data/arc/identifiers.json --domain arc "
                "-o arc-run.safetensors\n"
                "all_config.yaml (and dataset.json) are read from beside the checkpoint; identifiers.json is the official\n"
                "builder's list of puzzle names (keeps ARC task names).");
    set_action(sub, [o] { return run_import(*o); });
}

}  // namespace trm::cli
