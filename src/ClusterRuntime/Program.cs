// Entry point of `appliance-runtime`: the server verb (the agent verb arrives with its issue).
using System.CommandLine;
using Appliance.ClusterRuntime.Server;

var root = new RootCommand("appliance-runtime: the bundled Kubernetes-compatible distribution")
{
    ServerCommandDefinition.Create(),
};
root.Subcommands.Add(Appliance.ClusterRuntime.Datastore.Stress.DatastoreStressCommand.Create());
return await root.Parse(args).InvokeAsync();
