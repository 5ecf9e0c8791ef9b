// Entry point of `appliance-runtime`: the server, agent and datastore verbs.
using System.CommandLine;
using Appliance.ClusterRuntime.Agent;
using Appliance.ClusterRuntime.Server;

var root = new RootCommand("appliance-runtime: the bundled Kubernetes-compatible distribution")
{
    ServerCommandDefinition.Create(),
    AgentCommandDefinition.Create(),
    DatastoreCommandDefinition.Create(),
};
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Usage errors: one line each and exit code 2, as the appliance CLI does.
    foreach (var e in parse.Errors) Console.Error.WriteLine($"appliance-runtime: {e.Message}");
    Console.Error.WriteLine("Run 'appliance-runtime --help' for usage.");
    return 2;
}
return await parse.InvokeAsync();
