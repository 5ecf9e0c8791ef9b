// Process exit codes shared by every verb.
namespace Appliance.ImageBuilder.Cli;

/// <summary>Exit codes of the <c>appliance</c> CLI.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>The operation ran and failed (a verification that did not hold, an I/O failure).</summary>
    public const int Failure = 1;
    /// <summary>Bad usage or bad input.</summary>
    public const int BadInput = 2;
}
