// The one thing the examples need from Node, declared here so that the client package
// needs no @types/node (the client itself runs in browsers too and never touches process).
declare const process: { env: Record<string, string | undefined> };
