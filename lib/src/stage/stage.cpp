#include "conveyor/stage/stage.hpp"

#include "conveyor/stage/stream_stage.hpp"

namespace conveyor {

OpenedStage::OpenedStage(std::unique_ptr<SourceOperator> s, SchemaRef schema)
    : op(std::move(s)), initial_schema(std::move(schema)) {}
OpenedStage::OpenedStage(std::unique_ptr<Operator> o, SchemaRef schema)
    : op(std::move(o)), initial_schema(std::move(schema)) {}
OpenedStage::OpenedStage(std::unique_ptr<StreamOperator> s, SchemaRef schema)
    : op(std::move(s)), initial_schema(std::move(schema)) {}
OpenedStage::OpenedStage(OpenedStage&&) noexcept = default;
OpenedStage& OpenedStage::operator=(OpenedStage&&) noexcept = default;
OpenedStage::~OpenedStage() = default;

} // namespace conveyor
