#include "conveyor/expr/operand.hpp"

#include "conveyor/core/suggest.hpp"

namespace conveyor::expr {

Operand Operand::parse(std::string text) {
    Operand op;
    op.text_ = std::move(text);
    if (auto path = FieldPath::parse(op.text_)) {
        op.path_ = std::move(*path);
        return op;
    }
    if (auto e = Expression::compile(op.text_); e && !e->as_field()) {
        op.expression_ = std::move(*e);
        return op;
    }
    op.path_ = FieldPath::single(op.text_);
    return op;
}

std::optional<std::string> Operand::check(const Schema& schema) const {
    if (schema.find(text_)) return std::nullopt;
    if (path_) {
        if (resolve(*path_, schema).found()) return std::nullopt;
        return "field '" + text_ + "' is not in the input" + did_you_mean(text_, schema.names());
    }
    if (auto d = expression_->check_fields(schema)) return d->render(text_);
    return std::nullopt;
}

OperandReader::OperandReader(std::span<const Operand> operands) : operands_(operands) {
    slots_.resize(operands.size());
    for (std::size_t i = 0; i < operands.size(); ++i)
        if (const Expression* e = operands[i].expression())
            slots_[i].evaluator = std::make_unique<Evaluator>(*e);
}

OperandReader::~OperandReader() = default;
OperandReader::OperandReader(OperandReader&&) noexcept = default;
OperandReader& OperandReader::operator=(OperandReader&&) noexcept = default;

void OperandReader::bind(const SchemaRef& schema) {
    if (schema == bound_) return;
    bound_ = schema;
    for (std::size_t i = 0; i < operands_.size(); ++i) {
        Slot& s = slots_[i];
        if (s.evaluator) {
            s.evaluator->bind(schema);
            continue;
        }
        if (auto c = schema->find(operands_[i].text())) {
            s.column = *c;
            s.whole_column = true;
        } else {
            s.whole_column = false;
            s.where = resolve(*operands_[i].path(), *schema);
        }
    }
}

bool OperandReader::read(std::span<const Value> row, Arena& arena, Value* out) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (s.evaluator) {
            auto v = s.evaluator->eval(row, arena);
            if (!v) {
                error_ = "'" + operands_[i].text() + "': " + s.evaluator->error();
                return false;
            }
            out[i] = *v;
        } else if (s.whole_column) {
            out[i] = row[s.column];
        } else {
            out[i] = s.where.found() ? lookup(*operands_[i].path(), s.where, row) : Value::absent();
        }
    }
    return true;
}

std::vector<std::shared_ptr<const void>> OperandReader::storage() const {
    std::vector<std::shared_ptr<const void>> owners;
    for (const Operand& op : operands_)
        if (const Expression* e = op.expression()) owners.push_back(e->storage());
    return owners;
}

} // namespace conveyor::expr
