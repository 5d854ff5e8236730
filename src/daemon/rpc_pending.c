/* TEMPORARY until the helpers' parts are merged */
#include "daemon/rpc_methods.h"
#include "xmlrpc/codec.h"
RPC_METHOD(readLog) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(readProcessStdoutLog) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(readProcessStderrLog) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(tailProcessStdoutLog) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(tailProcessStderrLog) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(reloadConfig) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(addProcessGroup) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(removeProcessGroup) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
RPC_METHOD(getAllConfigInfo) { rpc_fault(call, XMLRPC_FAILED, "not yet"); }
