// Entry point of `appliance-runtime`; the server and agent verbs arrive with their issues.
using System.CommandLine;

var root = new RootCommand("appliance-runtime: the bundled Kubernetes-compatible distribution");
return root.Parse(args).Invoke();
