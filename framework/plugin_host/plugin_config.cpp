#include "plugin_host/plugin_config.hpp"

namespace meshbot::plugins {

PluginConfig::PluginConfig(const std::string& toml_text,
                           std::map<std::string, std::string> positions)
    : table_(toml::parse(toml_text)), positions_(std::move(positions)) {}

void PluginConfig::add_defaults(const std::vector<ConfigKeySpec>& schema) {
    for (const auto& spec : schema) {
        const toml::node* value = spec.default_value();
        if (value == nullptr || table_.contains(spec.key)) continue;
        table_.insert(spec.key, *value);
        positions_[spec.key] = spec.default_where;
        if (const auto* array = value->as_array()) {
            for (std::size_t i = 0; i < array->size(); ++i)
                positions_[spec.key + "[" + std::to_string(i) + "]"] = spec.default_where;
        }
    }
}

mb_value PluginConfig::get(std::string_view path) const {
    mb_value out{};
    out.struct_size = sizeof out;
    out.type = MB_VALUE_NONE;
    const toml::node* node = table_.at_path(path).node();
    if (node == nullptr) return out;
    if (const auto at = positions_.find(std::string(path)); at != positions_.end())
        out.where = mb_str{at->second.data(), at->second.size()};
    if (const auto* b = node->as_boolean()) {
        out.type = MB_VALUE_BOOL;
        out.boolean = b->get() ? 1 : 0;
    } else if (const auto* i = node->as_integer()) {
        out.type = MB_VALUE_INT;
        out.integer = i->get();
        out.number = static_cast<double>(i->get());
    } else if (const auto* f = node->as_floating_point()) {
        out.type = MB_VALUE_FLOAT;
        out.number = f->get();
    } else if (const auto* s = node->as_string()) {
        out.type = MB_VALUE_STRING;
        out.string = mb_str{s->get().data(), s->get().size()};
    } else if (const auto* a = node->as_array()) {
        out.type = MB_VALUE_ARRAY;
        out.integer = static_cast<std::int64_t>(a->size());
    } else if (node->is_table()) {
        out.type = MB_VALUE_TABLE;
    }
    return out;
}

}  // namespace meshbot::plugins
