export { TerminalTabs, type TerminalTabsProps } from "./terminal-tabs";
export { TerminalView, type TerminalViewProps } from "./terminal-view";
export { TerminalConnection, type ConnectionState, type ConnectionStatus, type TerminalConnectionOptions } from "./terminal-connection";
export { preloadTerminal } from "./preload";
