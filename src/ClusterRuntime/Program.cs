// Entry point of `appliance-runtime`; the server and agent verbs arrive with their issues.
using System.CommandLine;

var root = new RootCommand("appliance-runtime: the bundled Kubernetes-compatible distribution");
root.Subcommands.Add(Appliance.ClusterRuntime.Datastore.Stress.DatastoreStressCommand.Create());
return root.Parse(args).Invoke();
