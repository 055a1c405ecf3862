//! Host bindings generated from the one WIT contract in `plugin-sdk/wit/v1.0.0`.
//! The contract's types are serializable so that recorded calls can be
//! written to a file and replayed (`record`, `replay`).

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit/v1.0.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});
