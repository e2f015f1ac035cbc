/** The response contract of the HTTP API: used by the routes (serialization, OpenAPI) and by clients such as the CLI. */
export * from './envelope.js'
export * from './resources.js'
