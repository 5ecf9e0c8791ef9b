// Where the private key's password comes from: APPLIANCE_KEY_PASSWORD, or a prompt without echo on a terminal.
using System.Text;

namespace Appliance.ImageBuilder.Cli.Key;

/// <summary>Obtains the key password for a command.</summary>
internal static class KeyPassword
{
    /// <summary>The environment variable that holds the password.</summary>
    public const string EnvironmentVariable = "APPLIANCE_KEY_PASSWORD";

    /// <summary>
    /// The password from <see cref="EnvironmentVariable"/>, else from an interactive prompt (asked twice when
    /// <paramref name="confirm"/>). When stdin is not a terminal there is no prompt: that is a usage error.
    /// </summary>
    public static string Get(CliContext ctx, string prompt, bool confirm)
    {
        var fromEnv = ctx.GetEnvironment(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnv))
            return fromEnv;
        if (Console.IsInputRedirected)
            throw new UserInputException(
                $"no key password: set {EnvironmentVariable} (stdin is not a terminal, so there is no password prompt)");
        var first = Prompt(ctx, prompt);
        if (first.Length == 0)
            throw new UserInputException("the key password must not be empty");
        if (confirm && Prompt(ctx, "Repeat the password: ") != first)
            throw new UserInputException("the two passwords differ");
        return first;
    }

    // Reads a line from the terminal without echoing it.
    private static string Prompt(CliContext ctx, string prompt)
    {
        ctx.Error.Write(prompt);
        ctx.Error.Flush();
        var sb = new StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter)
                break;
            if (k.Key == ConsoleKey.Backspace)
            {
                if (sb.Length > 0)
                    sb.Length--;
                continue;
            }
            if (!char.IsControl(k.KeyChar))
                sb.Append(k.KeyChar);
        }
        ctx.Error.WriteLine();
        return sb.ToString();
    }
}
