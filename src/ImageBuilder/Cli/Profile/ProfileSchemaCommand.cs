// `appliance profile schema`: prints the JSON Schema of site profiles.
using Appliance.ImageBuilder.Profiles.Schema;

namespace Appliance.ImageBuilder.Cli.Profile;

/// <summary>Prints the JSON Schema (always JSON, whatever --output says).</summary>
public sealed class ProfileSchemaCommand(CliContext ctx)
{
    /// <summary>Writes the schema to stdout.</summary>
    public int Execute()
    {
        ctx.Out.Write(ProfileSchema.ToJson());
        return ExitCodes.Ok;
    }
}
